import { spawnSync } from 'node:child_process';
import { webcrypto, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import * as asn1X509 from '@peculiar/asn1-x509';
import { AsnConvert } from '@peculiar/asn1-schema';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { buildCertificateDer } from '../../../../src/core/x509/certificate-builder';
import { buildCrlDer, type CrlTemplate } from '../../../../src/core/x509/crl-builder';
import { encodeName, type NameAttribute } from '../../../../src/core/x509/fields';
import { toPem } from '../../../../src/core/x509/pem';
import { createDerSigner, keyIdentifier, type DerSigner } from '../../../../src/core/x509/signing';
import { REVOCATION_REASONS, type RevocationReason } from '../../../../src/core/types';
import { TEST_KEY_TYPES, nodeKeyPair, type TestKeyType } from '../../../support/test-keys';
import { InvalidInputError } from '../../../../src/core/errors';

x509.cryptoProvider.set(webcrypto);

type KeyType = TestKeyType;
const KEY_TYPES = TEST_KEY_TYPES;

const ALGORITHMS: Record<KeyType, { importAs: webcrypto.Algorithm & Record<string, string>; sign: webcrypto.Algorithm & { hash?: string } }> = {
  'ec-p256': { importAs: { name: 'ECDSA', namedCurve: 'P-256' }, sign: { name: 'ECDSA', hash: 'SHA-256' } },
  'ec-p384': { importAs: { name: 'ECDSA', namedCurve: 'P-384' }, sign: { name: 'ECDSA', hash: 'SHA-384' } },
  'rsa-2048': { importAs: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, sign: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } },
  ed25519: { importAs: { name: 'Ed25519' }, sign: { name: 'Ed25519' } },
};

interface Ca {
  type: KeyType;
  names: NameAttribute[];
  nameDer: Buffer;
  privateKey: KeyObject;
  cryptoKey: webcrypto.CryptoKey;
  der: Buffer;
  cert: x509.X509Certificate;
  keyId: Buffer;
  signer: DerSigner;
}

const cas = new Map<KeyType, Ca>();

beforeAll(async () => {
  for (const type of KEY_TYPES) {
    const pair = nodeKeyPair(type);
    const spkiDer = pair.publicKey.export({ type: 'spki', format: 'der' });
    const names: NameAttribute[] = [
      { type: 'CN', value: `certctl CRL Test ${type}` },
      { type: 'O', value: 'certctl Tests' },
    ];
    const nameDer = encodeName(names);
    const signer = createDerSigner(pair.privateKey);
    const keyId = keyIdentifier(spkiDer);
    const der = buildCertificateDer(
      {
        serial: Buffer.from('01', 'hex'),
        issuerDer: nameDer,
        subjectDer: nameDer,
        notBefore: new Date(Date.now() - 86_400_000),
        notAfter: new Date('2060-01-01T00:00:00Z'),
        spkiDer,
        basicConstraints: { ca: true },
        keyUsage: ['keyCertSign', 'cRLSign'],
        extKeyUsage: [],
        subjectKeyId: keyId,
        dnsNames: [],
        ipAddresses: [],
      },
      signer,
    );
    const cryptoKey = await webcrypto.subtle.importKey('pkcs8', pair.privateKey.export({ type: 'pkcs8', format: 'der' }), ALGORITHMS[type].importAs, false, [
      'sign',
    ]);
    cas.set(type, { type, names, nameDer, privateKey: pair.privateKey, cryptoKey, der, cert: new x509.X509Certificate(der), keyId, signer });
  }
});

const THIS_UPDATE = new Date(Date.now() - 60_000 - 456);
const NEXT_UPDATE = new Date(THIS_UPDATE.getTime() + 7 * 86_400_000);

const ENTRY_SETS: Record<string, CrlTemplate['entries']> = {
  '0': [],
  '1': [{ serial: Buffer.from('8f'.repeat(16), 'hex'), revokedAt: new Date('2025-01-02T03:04:05.678Z'), reason: 'keyCompromise' }],
  '3': [
    { serial: Buffer.from('0000012345', 'hex'), revokedAt: new Date('2025-05-06T07:08:09Z') },
    { serial: Buffer.from('c0ffee', 'hex'), revokedAt: new Date('2051-01-01T00:00:00Z'), reason: 'superseded' },
    { serial: Buffer.from('7e57', 'hex'), revokedAt: new Date('2025-05-06T07:08:10Z'), reason: 'unspecified' },
  ],
};

function hex(buf: Uint8Array): string {
  return Buffer.from(buf).toString('hex');
}

/** The TBSCertList bytes exactly as they sit in the CRL (asn1js keeps each element's raw view). */
function tbsOf(crlDer: ArrayBuffer | Uint8Array): Buffer {
  const parsed = asn1js.fromBER(Buffer.from(crlDer as Uint8Array));
  if (parsed.offset === -1) throw new Error(parsed.result.error);
  const certificateList = parsed.result as asn1js.Sequence;
  return Buffer.from(certificateList.valueBlock.value[0].valueBeforeDecodeView);
}

function template(ca: Ca, entries: CrlTemplate['entries'], crlNumber = 7n): CrlTemplate {
  return { issuerDer: ca.nameDer, thisUpdate: THIS_UPDATE, nextUpdate: NEXT_UPDATE, crlNumber, authorityKeyId: ca.keyId, entries };
}

async function libraryCrl(ca: Ca, t: CrlTemplate): Promise<x509.X509Crl> {
  return x509.X509CrlGenerator.create({
    issuer: new x509.Name(ca.names.map((a) => ({ [a.type]: [a.value] }))),
    thisUpdate: t.thisUpdate,
    nextUpdate: t.nextUpdate,
    extensions: [
      new x509.AuthorityKeyIdentifierExtension(hex(t.authorityKeyId), false),
      new x509.Extension(asn1X509.id_ce_cRLNumber, false, AsnConvert.serialize(new asn1X509.CRLNumber(Number(t.crlNumber)))),
    ],
    entries: t.entries.map((e) => ({
      serialNumber: hex(e.serial),
      revocationDate: e.revokedAt,
      reason: e.reason === undefined ? undefined : x509.X509CrlReason[e.reason],
    })),
    signingKey: ca.cryptoKey,
    signingAlgorithm: ALGORITHMS[ca.type].sign,
  });
}

/**
 * X509CrlGenerator gives an entry without extensions an empty crlEntryExtensions SEQUENCE
 * (30 00), which Extensions' SIZE (1..MAX) forbids; certctl omits the field. Parsing with
 * the library's own schema drops the empty field, and its own encoder then writes the rest.
 */
function normalised(libraryTbs: Buffer): Buffer {
  return Buffer.from(AsnConvert.serialize(AsnConvert.parse(libraryTbs, asn1X509.TBSCertList)));
}

/** Per revoked entry, the raw crlEntryExtensions the library wrote ('' when absent). */
function entryExtensionsOf(tbsDer: Buffer): string[] {
  const tbs = asn1js.fromBER(tbsDer).result as asn1js.Sequence;
  const revoked = tbs.valueBlock.value[5];
  if (!(revoked instanceof asn1js.Sequence)) return [];
  return revoked.valueBlock.value.map((entry) => {
    const fields = (entry as asn1js.Sequence).valueBlock.value;
    return fields.length > 2 ? hex(fields[2].valueBeforeDecodeView) : '';
  });
}

describe('CRL builder vs @peculiar/x509', () => {
  const cases = KEY_TYPES.flatMap((type) => Object.keys(ENTRY_SETS).map((set) => [type, set] as const));

  test.each(cases)('CA %s, %s entries: TBSCertList byte-identical, signature verifies', async (type, set) => {
    const ca = cas.get(type)!;
    const t = template(ca, ENTRY_SETS[set]);
    const library = await libraryCrl(ca, t);
    const libraryTbs = tbsOf(library.rawData);
    const ours = buildCrlDer(t, ca.signer);
    const withoutReason = t.entries.map((e) => e.reason === undefined || e.reason === 'unspecified');
    // The only liberty taken with the library's bytes: its empty crlEntryExtensions, exactly where expected.
    expect(entryExtensionsOf(libraryTbs).map((ext) => ext === '3000')).toEqual(withoutReason);
    expect(entryExtensionsOf(tbsOf(ours)).map((ext) => ext === '')).toEqual(withoutReason);
    expect(hex(tbsOf(ours))).toBe(hex(normalised(libraryTbs)));
    if (!withoutReason.includes(true)) {
      expect(hex(tbsOf(ours))).toBe(hex(libraryTbs));
      // Deterministic signatures: the whole CRL must match, outer framing included.
      if (type === 'rsa-2048' || type === 'ed25519') expect(hex(ours)).toBe(hex(Buffer.from(library.rawData)));
    }

    const parsed = new x509.X509Crl(ours);
    await expect(parsed.verify({ publicKey: ca.cert.publicKey })).resolves.toBe(true);
    expect(parsed.entries).toHaveLength(t.entries.length);
  });

  test('reason codes: unspecified and absent both omit the extension; every reason `revoke` offers maps to its RFC 5280 value', () => {
    const ca = cas.get('ec-p256')!;
    const rfc5280: Record<RevocationReason, number | undefined> = {
      unspecified: undefined,
      keyCompromise: 1,
      affiliationChanged: 3,
      superseded: 4,
      cessationOfOperation: 5,
    };
    const reasons = [...REVOCATION_REASONS];
    const entries = reasons.map((reason, i) => ({ serial: Buffer.from([i + 1]), revokedAt: THIS_UPDATE, reason }));
    const crl = new x509.X509Crl(buildCrlDer(template(ca, [...entries, { serial: Buffer.from([99]), revokedAt: THIS_UPDATE }]), ca.signer));
    expect(crl.entries.map((e) => e.reason)).toEqual([...reasons.map((r) => rfc5280[r]), undefined]);
    expect(crl.entries[reasons.indexOf('unspecified')].extensions).toHaveLength(0);
  });

  test('CRL numbers beyond 2^53 keep every bit', () => {
    const ca = cas.get('ed25519')!;
    const crlNumber = 2n ** 158n + 12345n;
    const crl = pkijs.CertificateRevocationList.fromBER(buildCrlDer(template(ca, [], crlNumber), ca.signer));
    const ext = crl.crlExtensions!.extensions.find((e) => e.extnID === asn1X509.id_ce_cRLNumber)!;
    expect((ext.parsedValue as { toBigInt(): bigint }).toBigInt()).toBe(crlNumber);
  });

  test('refuses what a CRL may not contain', () => {
    const ca = cas.get('ec-p256')!;
    const build = (t: Partial<CrlTemplate>) => () => buildCrlDer({ ...template(ca, []), ...t }, ca.signer);
    expect(build({ crlNumber: -1n })).toThrow(InvalidInputError);
    expect(build({ crlNumber: 2n ** 159n })).toThrow(InvalidInputError);
    expect(build({ nextUpdate: new Date(THIS_UPDATE.getTime() - 1000) })).toThrow(InvalidInputError);
    expect(build({ authorityKeyId: Buffer.alloc(0) })).toThrow(InvalidInputError);
    expect(build({ issuerDer: Buffer.from('0c0141', 'hex') })).toThrow(InvalidInputError);
    const at = THIS_UPDATE;
    expect(
      build({
        entries: [
          { serial: Buffer.from('01', 'hex'), revokedAt: at },
          { serial: Buffer.from('0001', 'hex'), revokedAt: at },
        ],
      }),
    ).toThrow(InvalidInputError);
    expect(build({ entries: [{ serial: Buffer.alloc(1), revokedAt: at }] })).toThrow(InvalidInputError);
    expect(build({ entries: [{ serial: Buffer.from('01', 'hex'), revokedAt: at, reason: 'toString' as RevocationReason }] })).toThrow(InvalidInputError);
  });
});

describe('openssl and scale', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'certctl-crl-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function opensslVerifies(ca: Ca, crlDer: Buffer, name: string): string {
    const caPem = join(dir, `ca-${ca.type}.pem`);
    const crlPem = join(dir, `${name}.pem`);
    writeFileSync(caPem, toPem(ca.der, 'CERTIFICATE'));
    writeFileSync(crlPem, toPem(crlDer, 'X509 CRL'));
    const run = spawnSync('openssl', ['crl', '-in', crlPem, '-CAfile', caPem, '-noout'], { encoding: 'utf8' });
    expect(run.status).toBe(0);
    return `${run.stdout}${run.stderr}`;
  }

  test.each(KEY_TYPES)('openssl crl -CAfile verifies a %s-signed CRL', (type) => {
    const ca = cas.get(type)!;
    expect(opensslVerifies(ca, buildCrlDer(template(ca, ENTRY_SETS['3']), ca.signer), `crl-${type}`)).toContain('verify OK');
  });

  test('a 10,000-entry CRL builds, parses with every entry, and verifies', async () => {
    const ca = cas.get('ec-p256')!;
    const reasons: (RevocationReason | undefined)[] = [undefined, 'keyCompromise', 'superseded', 'cessationOfOperation'];
    const entries = Array.from({ length: 10_000 }, (_, i) => {
      const serial = Buffer.alloc(16, 0x5a);
      serial.writeUInt32BE(i, 12);
      return { serial, revokedAt: new Date(THIS_UPDATE.getTime() - i * 1000), reason: reasons[i % reasons.length] };
    });
    const crlDer = buildCrlDer(template(ca, entries), ca.signer);
    // asn1js refuses more than 10,000 nodes by default (a DoS guard), and a 10,000-entry CRL has
    // several per entry: whoever parses certctl's CRLs with @peculiar/x509 must raise the cap.
    expect(() => new x509.X509Crl(crlDer)).toThrow('Maximum ASN.1 node count exceeded');
    const crl = new x509.X509Crl(crlDer, { berOptions: { maxNodes: 200_000 } });
    expect(crl.entries).toHaveLength(10_000);
    expect(crl.entries[9_999].serialNumber).toBe(hex(entries[9_999].serial));
    expect(crl.entries[1].reason).toBe(x509.X509CrlReason.keyCompromise);
    await expect(crl.verify({ publicKey: ca.cert.publicKey })).resolves.toBe(true);
    expect(opensslVerifies(ca, crlDer, 'crl-10k')).toContain('verify OK');
  });
});
