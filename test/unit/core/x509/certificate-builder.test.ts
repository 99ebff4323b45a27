import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomUUID, webcrypto, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import * as asn1X509 from '@peculiar/asn1-x509';
import { AsnConvert } from '@peculiar/asn1-schema';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { buildCertificateDer, encodeTbsCertificate, extKeyUsageOid, type CertificateTemplate } from '../../../../src/core/x509/certificate-builder';
import * as der from '../../../../src/core/x509/der';
import { readTlv } from '../../../../src/core/x509/der-reader';
import { encodeName, type NameAttribute } from '../../../../src/core/x509/fields';
import { toPem } from '../../../../src/core/x509/pem';
import { createDerSigner, keyIdentifier, type DerSigner } from '../../../../src/core/x509/signing';
import { TEST_KEY_TYPES, nodeKeyPair, type TestKeyType } from '../../../support/test-keys';
import { InvalidInputError, NotSupportedError } from '../../../../src/core/errors';

x509.cryptoProvider.set(webcrypto);

type KeyType = TestKeyType;
const KEY_TYPES = TEST_KEY_TYPES;

interface TestKey {
  type: KeyType;
  privateKey: KeyObject;
  spkiDer: Buffer;
  /** The same private key as WebCrypto sees it, for @peculiar/x509. */
  cryptoKey: webcrypto.CryptoKey;
  /** What @peculiar/x509 must sign with to pick the algorithm createDerSigner picks. */
  signingAlgorithm: webcrypto.Algorithm & { hash?: string };
}

const WEBCRYPTO_ALGORITHMS: Record<KeyType, { importAs: webcrypto.Algorithm & Record<string, string>; sign: webcrypto.Algorithm & { hash?: string } }> = {
  'ec-p256': { importAs: { name: 'ECDSA', namedCurve: 'P-256' }, sign: { name: 'ECDSA', hash: 'SHA-256' } },
  'ec-p384': { importAs: { name: 'ECDSA', namedCurve: 'P-384' }, sign: { name: 'ECDSA', hash: 'SHA-384' } },
  'rsa-2048': { importAs: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, sign: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } },
  ed25519: { importAs: { name: 'Ed25519' }, sign: { name: 'Ed25519' } },
};

async function makeKey(type: KeyType): Promise<TestKey> {
  const pair = nodeKeyPair(type);
  const { importAs, sign } = WEBCRYPTO_ALGORITHMS[type];
  const pkcs8 = pair.privateKey.export({ type: 'pkcs8', format: 'der' });
  const cryptoKey = await webcrypto.subtle.importKey('pkcs8', pkcs8, importAs, false, ['sign']);
  return { type, privateKey: pair.privateKey, spkiDer: pair.publicKey.export({ type: 'spki', format: 'der' }), cryptoKey, signingAlgorithm: sign };
}

/** The TBSCertificate bytes exactly as they sit in a certificate (pkijs keeps the raw view). */
function tbsOf(certDer: ArrayBuffer | Uint8Array): Buffer {
  return Buffer.from(pkijs.Certificate.fromBER(Buffer.from(certDer as Uint8Array)).tbsView);
}

/** @peculiar/x509's Name for the same attributes: one RDN per attribute, in order. */
function libraryName(attrs: NameAttribute[]): x509.Name {
  return new x509.Name(attrs.map((a) => ({ [a.type]: [a.value] })));
}

function hex(buf: Buffer): string {
  return buf.toString('hex');
}

/** The extensions of `t`, built independently with @peculiar/x509's extension classes, in our fixed order. */
function libraryExtensions(t: CertificateTemplate, subjectEmpty: boolean): x509.Extension[] {
  const exts: x509.Extension[] = [
    new x509.BasicConstraintsExtension(t.basicConstraints.ca, t.basicConstraints.pathLen, true),
    new x509.KeyUsagesExtension(
      t.keyUsage.reduce((mask, usage) => mask | x509.KeyUsageFlags[usage === 'contentCommitment' ? 'nonRepudiation' : usage], 0),
      true,
    ),
  ];
  if (t.extKeyUsage.length)
    exts.push(
      new x509.ExtendedKeyUsageExtension(
        t.extKeyUsage.map((u) => extKeyUsageOid(u) as string),
        false,
      ),
    );
  exts.push(new x509.SubjectKeyIdentifierExtension(hex(t.subjectKeyId), false));
  if (t.authorityKeyId) exts.push(new x509.AuthorityKeyIdentifierExtension(hex(t.authorityKeyId), false));
  if (t.dnsNames.length || t.ipAddresses.length) {
    exts.push(
      new x509.SubjectAlternativeNameExtension(
        [...t.dnsNames.map((value) => ({ type: 'dns' as const, value })), ...t.ipAddresses.map((value) => ({ type: 'ip' as const, value }))],
        subjectEmpty,
      ),
    );
  }
  if (t.crlUrls?.length) exts.push(new x509.CRLDistributionPointsExtension(t.crlUrls, false));
  if (t.issuingCaUrls?.length || t.ocspUrls?.length)
    exts.push(new x509.AuthorityInfoAccessExtension({ ocsp: t.ocspUrls ?? [], caIssuers: t.issuingCaUrls ?? [] }, false));
  if (t.ocspNoCheck) exts.push(new x509.Extension('1.3.6.1.5.5.7.48.1.5', false, new Uint8Array([0x05, 0x00])));
  return exts;
}

async function libraryCertificate(
  t: CertificateTemplate,
  names: { subject: NameAttribute[]; issuer: NameAttribute[] },
  caKey: TestKey,
): Promise<x509.X509Certificate> {
  return x509.X509CertificateGenerator.create({
    serialNumber: hex(t.serial),
    subject: libraryName(names.subject),
    issuer: libraryName(names.issuer),
    notBefore: t.notBefore,
    notAfter: t.notAfter,
    publicKey: t.spkiDer,
    signingKey: caKey.cryptoKey,
    signingAlgorithm: caKey.signingAlgorithm,
    extensions: libraryExtensions(t, names.subject.length === 0),
  });
}

const NOW = Date.now();
// Milliseconds on purpose: both encoders must truncate them.
const NOT_BEFORE = new Date(NOW - 60_000 - 789);
const LEAF_NOT_AFTER = new Date(NOW + 90 * 86_400_000 + 123);
// Past 2049, so the roots exercise GeneralizedTime.
const ROOT_NOT_AFTER = new Date('2055-06-30T23:59:59.999Z');

const rootNames = (type: KeyType): NameAttribute[] => [
  { type: 'CN', value: `certctl Test Root ${type}` },
  { type: 'O', value: 'certctl Tests' },
  { type: 'C', value: 'US' },
];

interface Ca {
  key: TestKey;
  names: NameAttribute[];
  der: Buffer;
  cert: x509.X509Certificate;
  keyId: Buffer;
  signer: DerSigner;
}

const keys = new Map<KeyType, TestKey>();
const subjectKeys = new Map<KeyType, TestKey>();
const cas = new Map<KeyType, Ca>();

function rootTemplate(key: TestKey, names: NameAttribute[]): CertificateTemplate {
  const nameDer = encodeName(names);
  return {
    serial: Buffer.from('7f0102030405060708090a0b0c0d0e0f', 'hex'),
    issuerDer: nameDer,
    subjectDer: nameDer,
    notBefore: NOT_BEFORE,
    notAfter: ROOT_NOT_AFTER,
    spkiDer: key.spkiDer,
    basicConstraints: { ca: true },
    keyUsage: ['keyCertSign', 'cRLSign'],
    extKeyUsage: [],
    subjectKeyId: keyIdentifier(key.spkiDer),
    dnsNames: [],
    ipAddresses: [],
  };
}

beforeAll(async () => {
  for (const type of KEY_TYPES) {
    keys.set(type, await makeKey(type));
    subjectKeys.set(type, await makeKey(type));
  }
  for (const type of KEY_TYPES) {
    const key = keys.get(type)!;
    const names = rootNames(type);
    const signer = createDerSigner(key.privateKey);
    const certDer = buildCertificateDer(rootTemplate(key, names), signer);
    cas.set(type, { key, names, der: certDer, cert: new x509.X509Certificate(certDer), keyId: keyIdentifier(key.spkiDer), signer });
  }
});

type Profile = 'server' | 'client' | 'peer' | 'node' | 'intermediate' | 'empty-subject' | 'with-urls' | 'ocsp';
const PROFILES: Profile[] = ['server', 'client', 'peer', 'node', 'intermediate', 'empty-subject', 'with-urls', 'ocsp'];

let serialCounter = 0;
function nextSerial(): Buffer {
  // Top bit set on every other serial, so the 0x00 sign octet is exercised throughout.
  serialCounter++;
  const serial = Buffer.alloc(16, serialCounter);
  serial[0] = serialCounter % 2 ? 0x9c : 0x3c;
  return serial;
}

function leaf(profile: Profile, ca: Ca, subject: TestKey): { template: CertificateTemplate; subjectNames: NameAttribute[] } {
  const rsa = subject.type === 'rsa-2048';
  const leafUsage: CertificateTemplate['keyUsage'] = rsa ? ['digitalSignature', 'keyEncipherment'] : ['digitalSignature'];
  let subjectNames: NameAttribute[] = [
    { type: 'CN', value: 'api.example.test' },
    { type: 'O', value: 'Example Corp' },
    { type: 'C', value: 'DE' },
  ];
  const base: CertificateTemplate = {
    serial: nextSerial(),
    issuerDer: encodeName(ca.names),
    subjectDer: Buffer.alloc(0),
    notBefore: NOT_BEFORE,
    notAfter: LEAF_NOT_AFTER,
    spkiDer: subject.spkiDer,
    basicConstraints: { ca: false },
    keyUsage: leafUsage,
    extKeyUsage: ['serverAuth'],
    subjectKeyId: keyIdentifier(subject.spkiDer),
    authorityKeyId: ca.keyId,
    dnsNames: [],
    ipAddresses: [],
  };
  let template: CertificateTemplate;
  switch (profile) {
    case 'server':
      template = { ...base, dnsNames: ['api.example.test', 'localhost'], ipAddresses: ['10.0.0.5', '2001:db8::1', '::1'] };
      break;
    case 'client':
      // UTF8String territory: a non-ASCII CN and an underscore (not in PrintableString).
      subjectNames = [
        { type: 'CN', value: 'Jürgen Müller' },
        { type: 'OU', value: 'ops_team' },
        { type: 'O', value: 'Example Corp' },
      ];
      template = { ...base, extKeyUsage: ['clientAuth'] };
      break;
    case 'peer':
      subjectNames = [{ type: 'CN', value: 'etcd-member-1' }];
      template = { ...base, extKeyUsage: ['serverAuth', 'clientAuth'], dnsNames: ['etcd-1.cluster.local'], ipAddresses: ['192.168.10.11'] };
      break;
    case 'node':
      subjectNames = [
        { type: 'CN', value: randomUUID() },
        { type: 'O', value: 'flocker cluster 1' },
      ];
      template = { ...base, extKeyUsage: ['serverAuth', 'clientAuth'] };
      break;
    case 'intermediate':
      subjectNames = [
        { type: 'CN', value: 'certctl Test Intermediate' },
        { type: 'O', value: 'certctl Tests' },
      ];
      template = { ...base, basicConstraints: { ca: true, pathLen: 0 }, keyUsage: ['keyCertSign', 'cRLSign'], extKeyUsage: [] };
      break;
    case 'empty-subject':
      subjectNames = [];
      template = { ...base, dnsNames: ['svc.example.test'], ipAddresses: ['fd00::10'] };
      break;
    case 'with-urls':
      template = {
        ...base,
        dnsNames: ['api.example.test'],
        crlUrls: ['http://pki.example.test/ca.crl', 'http://pki2.example.test/ca.crl'],
        issuingCaUrls: ['http://pki.example.test/ca.crt'],
        ocspUrls: ['http://pki.example.test:8080/ocsp/default'],
      };
      break;
    case 'ocsp':
      subjectNames = [{ type: 'CN', value: 'OCSP responder' }];
      template = { ...base, dnsNames: [], ipAddresses: [], extKeyUsage: ['OCSPSigning'], ocspNoCheck: true };
      break;
  }
  return { template: { ...template, subjectDer: encodeName(subjectNames) }, subjectNames };
}

const MATRIX = KEY_TYPES.flatMap((caType) => KEY_TYPES.flatMap((subjectType) => PROFILES.map((profile) => [caType, subjectType, profile] as const)));

describe('certificate builder vs @peculiar/x509', () => {
  test.each(KEY_TYPES)('self-signed root with a %s key is byte-identical and verifies', async (type) => {
    const ca = cas.get(type)!;
    const template = rootTemplate(ca.key, ca.names);
    const library = await libraryCertificate(template, { subject: ca.names, issuer: ca.names }, ca.key);
    expect(hex(encodeTbsCertificate(template, ca.signer.algorithmIdentifierDer))).toBe(hex(tbsOf(library.rawData)));
    expect(hex(tbsOf(ca.der))).toBe(hex(tbsOf(library.rawData)));
    expect(ca.cert.getExtension(x509.AuthorityKeyIdentifierExtension)).toBeNull();
    expect(ca.cert.getExtension(x509.BasicConstraintsExtension)?.pathLength).toBeUndefined();
    await expect(ca.cert.verify({ publicKey: ca.cert.publicKey })).resolves.toBe(true);
  });

  test.each(MATRIX)('CA %s, subject %s, %s profile: TBS byte-identical, signature verifies', async (caType, subjectType, profile) => {
    const ca = cas.get(caType)!;
    const { template, subjectNames } = leaf(profile, ca, subjectKeys.get(subjectType)!);
    const library = await libraryCertificate(template, { subject: subjectNames, issuer: ca.names }, ca.key);

    const ours = buildCertificateDer(template, ca.signer);
    expect(hex(tbsOf(ours))).toBe(hex(tbsOf(library.rawData)));
    expect(hex(encodeTbsCertificate(template, ca.signer.algorithmIdentifierDer))).toBe(hex(tbsOf(library.rawData)));
    if (caType === 'rsa-2048' || caType === 'ed25519') {
      // Deterministic signatures: the whole certificate must match, outer framing included.
      expect(hex(ours)).toBe(hex(Buffer.from(library.rawData)));
    }

    const parsed = new x509.X509Certificate(ours);
    await expect(parsed.verify({ publicKey: ca.cert.publicKey })).resolves.toBe(true);
    expect(parsed.serialNumber).toBe(hex(template.serial));
    const san = parsed.getExtension(x509.SubjectAlternativeNameExtension);
    if (profile === 'empty-subject') expect(san?.critical).toBe(true);
    else if (san) expect(san.critical).toBe(false);
  });

  test('key identifiers are the leftmost 160 bits of SHA-256 over the subjectPublicKey (RFC 7093 method 1)', async () => {
    for (const key of [...keys.values(), ...subjectKeys.values()]) {
      const expected = Buffer.from(await new x509.PublicKey(key.spkiDer).getKeyIdentifier('SHA-256')).subarray(0, 20);
      expect(hex(keyIdentifier(key.spkiDer))).toBe(hex(expected));
    }
  });

  test('names: the string form "CN=..., O=..., C=..." of @peculiar/x509 encodes the same', () => {
    const attrs: NameAttribute[] = [
      { type: 'CN', value: 'api.example.test' },
      { type: 'O', value: "Example Corp (O'Brien) Ltd." },
      { type: 'OU', value: 'Jürgen & Söhne' },
      { type: 'C', value: 'US' },
    ];
    const library = new x509.Name("CN=api.example.test, O=Example Corp (O'Brien) Ltd., OU=Jürgen & Söhne, C=US");
    expect(hex(encodeName(attrs))).toBe(hex(Buffer.from(library.toArrayBuffer())));
    expect(hex(encodeName([]))).toBe('3000');
  });

  test('names: PrintableString when every character allows it, UTF8String otherwise', () => {
    const printable = encodeName([{ type: 'CN', value: 'abc' }]);
    const utf8 = encodeName([{ type: 'CN', value: 'a_c' }]);
    expect(printable.includes(Buffer.from([0x13, 0x03, 0x61, 0x62, 0x63]))).toBe(true);
    expect(utf8.includes(Buffer.from([0x0c, 0x03, 0x61, 0x5f, 0x63]))).toBe(true);
  });

  test('names: rejects what a certificate may not carry', () => {
    expect(() => encodeName([{ type: 'C', value: 'USA' }])).toThrow(InvalidInputError);
    expect(() => encodeName([{ type: 'C', value: 'us' }])).toThrow(InvalidInputError);
    expect(() => encodeName([{ type: 'CN', value: '' }])).toThrow(InvalidInputError);
    expect(() => encodeName([{ type: 'CN', value: 'x'.repeat(65) }])).toThrow(InvalidInputError);
    expect(() => encodeName([{ type: 'CN', value: 'bad \ud800 surrogate' }])).toThrow(InvalidInputError);
  });
});

describe('openssl reads and verifies what the builder writes', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'certctl-x509-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test.each(KEY_TYPES.flatMap((caType) => KEY_TYPES.map((subjectType) => [caType, subjectType] as const)))(
    'CA %s signing a %s server certificate',
    (caType, subjectType) => {
      const ca = cas.get(caType)!;
      const { template } = leaf('with-urls', ca, subjectKeys.get(subjectType)!);
      const caPem = join(dir, `ca-${caType}.pem`);
      const leafPem = join(dir, `leaf-${caType}-${subjectType}.pem`);
      writeFileSync(caPem, toPem(ca.der, 'CERTIFICATE'));
      writeFileSync(leafPem, toPem(buildCertificateDer(template, ca.signer), 'CERTIFICATE'));

      const text = execFileSync('openssl', ['x509', '-noout', '-text', '-in', leafPem], { encoding: 'utf8' });
      expect(text).toContain('X509v3 Basic Constraints: critical');
      expect(text).toContain('X509v3 Key Usage: critical');
      expect(text).toContain('TLS Web Server Authentication');
      expect(text).toContain('DNS:api.example.test');
      expect(text).toContain('URI:http://pki.example.test/ca.crl');
      expect(text).toContain('CA Issuers - URI:http://pki.example.test/ca.crt');
      expect(text).toContain('OCSP - URI:http://pki.example.test:8080/ocsp/default');
      const verified = execFileSync('openssl', ['verify', '-CAfile', caPem, leafPem], { encoding: 'utf8' });
      expect(verified.trim()).toBe(`${leafPem}: OK`);
    },
  );

  test('an OCSP responder certificate: OCSP Signing, id-pkix-ocsp-nocheck, verifies', () => {
    const ca = cas.get('ec-p256')!;
    const { template } = leaf('ocsp', ca, subjectKeys.get('ec-p256')!);
    writeFileSync(join(dir, 'ca-ocsp.pem'), toPem(ca.der, 'CERTIFICATE'));
    writeFileSync(join(dir, 'responder.pem'), toPem(buildCertificateDer(template, ca.signer), 'CERTIFICATE'));
    const text = execFileSync('openssl', ['x509', '-noout', '-text', '-in', join(dir, 'responder.pem')], { encoding: 'utf8' });
    expect(text).toContain('OCSP Signing');
    expect(text).toContain('OCSP No Check');
    const out = execFileSync('openssl', ['verify', '-purpose', 'ocsphelper', '-CAfile', join(dir, 'ca-ocsp.pem'), join(dir, 'responder.pem')], {
      encoding: 'utf8',
    });
    expect(out).toContain(': OK');
  });

  test('root → intermediate → server chain verifies', () => {
    const root = cas.get('ec-p256')!;
    const intermediateKey = subjectKeys.get('ec-p384')!;
    const { template: intermediateTemplate, subjectNames } = leaf('intermediate', root, intermediateKey);
    const intermediateDer = buildCertificateDer(intermediateTemplate, root.signer);
    const intermediate: Ca = {
      key: intermediateKey,
      names: subjectNames,
      der: intermediateDer,
      cert: new x509.X509Certificate(intermediateDer),
      keyId: keyIdentifier(intermediateKey.spkiDer),
      signer: createDerSigner(intermediateKey.privateKey),
    };
    const { template } = leaf('server', intermediate, subjectKeys.get('ed25519')!);
    writeFileSync(join(dir, 'root.pem'), toPem(root.der, 'CERTIFICATE'));
    writeFileSync(join(dir, 'intermediate.pem'), toPem(intermediateDer, 'CERTIFICATE'));
    writeFileSync(join(dir, 'server.pem'), toPem(buildCertificateDer(template, intermediate.signer), 'CERTIFICATE'));
    const out = execFileSync(
      'openssl',
      ['verify', '-x509_strict', '-CAfile', join(dir, 'root.pem'), '-untrusted', join(dir, 'intermediate.pem'), join(dir, 'server.pem')],
      { encoding: 'utf8' },
    );
    expect(out).toContain(': OK');
  });
});

describe('serial numbers', () => {
  function tbsWithSerial(serial: Buffer): Buffer {
    const ca = cas.get('ed25519')!;
    const { template } = leaf('client', ca, subjectKeys.get('ed25519')!);
    return encodeTbsCertificate({ ...template, serial }, ca.signer.algorithmIdentifierDer);
  }
  // TBSCertificate: 30 82 LL LL, then version a0 03 02 01 02, then the serial INTEGER.
  const serialTlv = (tbs: Buffer) => {
    const version = readTlv(tbs, readTlv(tbs).contentStart);
    const serial = readTlv(tbs, version.end);
    return hex(tbs.subarray(version.end, serial.end));
  };

  test('a set top bit gains a 0x00 sign octet', () => {
    expect(serialTlv(tbsWithSerial(Buffer.from('80ff', 'hex')))).toBe('02030080ff');
    const random = Buffer.alloc(16, 0xee);
    expect(serialTlv(tbsWithSerial(random))).toBe(`021100${'ee'.repeat(16)}`);
  });

  test('redundant leading zero octets are stripped', () => {
    expect(serialTlv(tbsWithSerial(Buffer.from('00000102', 'hex')))).toBe('02020102');
    expect(serialTlv(tbsWithSerial(Buffer.from('000080', 'hex')))).toBe('02020080');
  });

  test('matches @peculiar/x509 for the same edge cases', async () => {
    const ca = cas.get('ed25519')!;
    for (const serialHex of ['80', '00000102', '000080', 'ff'.repeat(19)]) {
      const { template, subjectNames } = leaf('client', ca, subjectKeys.get('ec-p256')!);
      const t = { ...template, serial: Buffer.from(serialHex, 'hex') };
      const library = await libraryCertificate(t, { subject: subjectNames, issuer: ca.names }, ca.key);
      expect(hex(encodeTbsCertificate(t, ca.signer.algorithmIdentifierDer))).toBe(hex(tbsOf(library.rawData)));
    }
  });

  test('zero and over-long serials are refused', () => {
    expect(() => tbsWithSerial(Buffer.alloc(0))).toThrow(InvalidInputError);
    expect(() => tbsWithSerial(Buffer.from('0000', 'hex'))).toThrow(InvalidInputError);
    expect(() => tbsWithSerial(Buffer.alloc(21, 0x11))).toThrow(InvalidInputError);
    expect(() => tbsWithSerial(Buffer.alloc(20, 0x81))).toThrow(InvalidInputError); // 21 octets with the sign octet
    expect(() => tbsWithSerial(Buffer.alloc(20, 0x7f))).not.toThrow();
  });
});

describe('template checks', () => {
  const ca = () => cas.get('ec-p256')!;
  const server = () => leaf('server', ca(), subjectKeys.get('ec-p256')!).template;
  const tbs = (t: CertificateTemplate) => encodeTbsCertificate(t, ca().signer.algorithmIdentifierDer);

  test('IPv6 forms: compression, all-zero, embedded IPv4; zones and junk refused', () => {
    const allZero = buildCertificateDer({ ...server(), dnsNames: [], ipAddresses: ['::'] }, ca().signer);
    expect(allZero.includes(Buffer.from(`8710${'00'.repeat(16)}`, 'hex'))).toBe(true);
    const mapped = buildCertificateDer({ ...server(), dnsNames: [], ipAddresses: ['::ffff:192.0.2.1'] }, ca().signer);
    expect(mapped.includes(Buffer.from('871000000000000000000000ffffc0000201', 'hex'))).toBe(true);
    const full = buildCertificateDer({ ...server(), dnsNames: [], ipAddresses: ['2001:db8:0:0:1:0:0:1'] }, ca().signer);
    expect(full.includes(Buffer.from('871020010db8000000000001000000000001', 'hex'))).toBe(true);
    const v4 = buildCertificateDer({ ...server(), dnsNames: [], ipAddresses: ['255.0.10.1'] }, ca().signer);
    expect(v4.includes(Buffer.from('8704ff000a01', 'hex'))).toBe(true);
    for (const bad of ['fe80::1%eth0', '1.2.3', '01.2.3.4', 'example.test', '1::2::3']) {
      expect(() => tbs({ ...server(), ipAddresses: [bad] })).toThrow(InvalidInputError);
    }
  });

  test('key usage BIT STRING is DER-minimal and equal to @peculiar/asn1-x509 for every mask', () => {
    for (let mask = 1; mask < 512; mask++) {
      expect(hex(der.namedBitString(mask))).toBe(hex(Buffer.from(AsnConvert.serialize(new asn1X509.KeyUsage(mask)))));
    }
    expect(hex(der.namedBitString(0))).toBe('030100');
  });

  test('contradictions and gaps are refused', () => {
    expect(() => tbs({ ...server(), subjectDer: encodeName([]), dnsNames: [], ipAddresses: [] })).toThrow(InvalidInputError);
    expect(() => tbs({ ...server(), authorityKeyId: undefined })).toThrow(InvalidInputError);
    expect(() => tbs({ ...server(), basicConstraints: { ca: false, pathLen: 0 } })).toThrow(InvalidInputError);
    expect(() => tbs({ ...server(), keyUsage: [] })).toThrow(InvalidInputError);
    expect(() => tbs({ ...server(), keyUsage: ['keyCertSign'] })).toThrow(InvalidInputError);
    expect(() => tbs({ ...server(), extKeyUsage: ['serverAuth', 'serverAuth'] })).toThrow(InvalidInputError);
    expect(() => tbs({ ...server(), notAfter: new Date(NOT_BEFORE.getTime() - 1) })).toThrow(InvalidInputError);
    expect(() => tbs({ ...server(), dnsNames: ['bücher.example'] })).toThrow(InvalidInputError);
    expect(() => tbs({ ...server(), spkiDer: Buffer.from('3003020101ff', 'hex') })).toThrow(InvalidInputError);
    expect(() => tbs({ ...server(), notBefore: new Date(NaN) })).toThrow(InvalidInputError);
  });

  test('createDerSigner refuses public keys and unsupported key types', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'secp521r1' });
    expect(() => createDerSigner(ec.privateKey)).toThrow(NotSupportedError);
    expect(() => createDerSigner(ec.publicKey)).toThrow(InvalidInputError);
    expect(() => createDerSigner(generateKeyPairSync('ed448').privateKey)).toThrow(NotSupportedError);
    expect(() => createDerSigner(generateKeyPairSync('rsa-pss', { modulusLength: 2048 }).privateKey)).toThrow(NotSupportedError);
  });

  test('toPem wraps at 64 columns and ends with a newline', () => {
    const pem = toPem(cas.get('rsa-2048')!.der, 'CERTIFICATE');
    const lines = pem.split('\n');
    expect(lines[0]).toBe('-----BEGIN CERTIFICATE-----');
    expect(pem.endsWith('-----END CERTIFICATE-----\n')).toBe(true);
    expect(lines.slice(1, -3).every((line) => line.length === 64)).toBe(true);
    expect(new x509.X509Certificate(pem).serialNumber).toBe('7f0102030405060708090a0b0c0d0e0f');
  });
});

describe('der primitives against asn1js / @peculiar/asn1-schema', () => {
  test('times: UTCTime through 2049, GeneralizedTime from 2050, seconds precision', () => {
    for (const iso of ['1999-12-31T23:59:59.999Z', '2024-02-29T01:02:03Z', '2049-12-31T23:59:59Z', '2050-01-01T00:00:00Z', '9999-12-31T23:59:59Z']) {
      const date = new Date(iso);
      expect(hex(der.time(date))).toBe(hex(Buffer.from(AsnConvert.serialize(new asn1X509.Time(date)))));
    }
    expect(der.time(new Date('1949-12-31T23:59:59Z')).toString('latin1', 2)).toBe('19491231235959Z');
    expect(() => der.utcTime(new Date('2050-01-01T00:00:00Z'))).toThrow(InvalidInputError);
  });

  test('object identifiers, including multi-octet arcs', () => {
    for (const oid of ['2.5.29.19', '1.2.840.113549.1.1.11', '1.3.6.1.4.1.311.20.2.3', '2.999.1', '1.2.4294967296.16383.16384']) {
      expect(hex(der.objectIdentifier(oid))).toBe(hex(Buffer.from(new asn1js.ObjectIdentifier({ value: oid }).toBER())));
    }
    expect(() => der.objectIdentifier('1.40')).toThrow(InvalidInputError);
    expect(() => der.objectIdentifier('1.02.3')).toThrow(InvalidInputError);
  });

  test('long-form lengths', () => {
    for (const size of [0, 127, 128, 255, 256, 65535, 65536]) {
      const encoded = der.octetString(Buffer.alloc(size, 1));
      expect(hex(encoded.subarray(0, 8))).toBe(hex(Buffer.from(new asn1js.OctetString({ valueHex: new Uint8Array(size).fill(1) }).toBER()).subarray(0, 8)));
      expect(readTlv(encoded).end).toBe(encoded.length);
    }
  });

  test('integers from numbers and bigints', () => {
    for (const value of [0n, 1n, 127n, 128n, 255n, 256n, 2n ** 64n + 1n, 2n ** 159n - 1n]) {
      expect(hex(der.integer(value))).toBe(hex(Buffer.from(asn1js.Integer.fromBigInt(value).toBER())));
    }
    expect(() => der.integer(-1)).toThrow(InvalidInputError);
  });
});
