import { spawnSync } from 'node:child_process';
import { X509Certificate, createPrivateKey, createPublicKey, webcrypto } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { InvalidInputError } from '../../../../src/core/errors';
import { buildPkcs12, type Pkcs12Input } from '../../../../src/core/output/pkcs12';
import { pemBlocks } from '../../../../src/core/x509/pem';

x509.cryptoProvider.set(webcrypto);

const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256' };
const RSA_2048 = {
  name: 'RSASSA-PKCS1-v1_5',
  modulusLength: 2048,
  publicExponent: new Uint8Array([1, 0, 1]),
  hash: 'SHA-256',
};
const ECDSA_SHA256 = { name: 'ECDSA', hash: 'SHA-256' };

type CryptoKeyPair = webcrypto.CryptoKeyPair;

// The count src/core/output/pkcs12.ts documents; pinned so a change is deliberate.
const ITERATIONS = 300000;

interface Issued {
  keyPkcs8Der: Buffer;
  certDer: Buffer;
  keys: CryptoKeyPair;
  cert: x509.X509Certificate;
}

async function generateKeys(algorithm: typeof EC_P256 | typeof RSA_2048): Promise<CryptoKeyPair> {
  return await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
}

async function issued(keys: CryptoKeyPair, cert: x509.X509Certificate): Promise<Issued> {
  const keyPkcs8Der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  return { keyPkcs8Der, certDer: Buffer.from(cert.rawData), keys, cert };
}

async function makeCa(): Promise<Issued> {
  const keys = await generateKeys(EC_P256);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: 'CN=certctl test root',
    keys,
    signingAlgorithm: ECDSA_SHA256,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ],
  });
  return issued(keys, cert);
}

async function makeLeaf(ca: Issued, algorithm: typeof EC_P256 | typeof RSA_2048, cn: string): Promise<Issued> {
  const keys = await generateKeys(algorithm);
  const cert = await x509.X509CertificateGenerator.create({
    subject: `CN=${cn}`,
    issuer: ca.cert.subject,
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    signingAlgorithm: ECDSA_SHA256,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: cn }]),
    ],
  });
  return issued(keys, cert);
}

function run(cmd: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) throw new Error(`cannot run ${cmd}: ${r.error.message}`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Like run, but a non-zero exit fails the test with the tool's own explanation. */
function mustRun(cmd: string, args: string[]): { stdout: string; stderr: string } {
  const r = run(cmd, args);
  if (r.status !== 0) throw new Error(`${cmd} exited ${r.status}: ${r.stderr}`);
  return r;
}

function spkiOfCert(der: Buffer): Buffer {
  return new X509Certificate(der).publicKey.export({ format: 'der', type: 'spki' });
}

// Loads the bundle with Python's `cryptography` (OpenSSL-backed) and reports what it found,
// plus whether a wrong password is refused.
const PY_LOAD = `
import json, sys
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
data = open(sys.argv[1], 'rb').read()
password = open(sys.argv[2], 'rb').read()
key, cert, extra = pkcs12.load_key_and_certificates(data, password)
named = pkcs12.load_pkcs12(data, password)
try:
    pkcs12.load_key_and_certificates(data, password + b'x')
    wrong_refused = False
except ValueError:
    wrong_refused = True
der = serialization.Encoding.DER
print(json.dumps({
    'keySpki': key.public_key().public_bytes(der, serialization.PublicFormat.SubjectPublicKeyInfo).hex(),
    'cert': cert.public_bytes(der).hex(),
    'extra': [c.public_bytes(der).hex() for c in extra],
    'friendlyName': (named.cert.friendly_name or b'').decode('utf-8'),
    'wrongRefused': wrong_refused,
}))
`;

describe('buildPkcs12', () => {
  let dir: string;
  let ca: Issued;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'certctl-p12-'));
    ca = await makeCa();
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  describe.each([
    { kind: 'EC P-256', algorithm: EC_P256, password: 'correct horse battery staple' },
    { kind: 'RSA-2048', algorithm: RSA_2048, password: 'pässwörd – 🔐 non-ASCII' },
  ])('with an $kind leaf', ({ kind, algorithm, password }) => {
    const cn = `${kind.toLowerCase().replace(/[^a-z0-9]+/g, '-')}.example.test`;
    let leaf: Issued;
    let p12Path: string;
    let pwPath: string;
    let wrongPwPath: string;

    beforeAll(async () => {
      leaf = await makeLeaf(ca, algorithm, cn);
      const p12 = await buildPkcs12({
        keyPkcs8Der: leaf.keyPkcs8Der,
        certDer: leaf.certDer,
        chainDer: [ca.certDer],
        password,
        friendlyName: cn,
      });
      p12Path = join(dir, `${cn}.p12`);
      pwPath = join(dir, `${cn}.pw`);
      wrongPwPath = join(dir, `${cn}.wrong-pw`);
      writeFileSync(p12Path, p12);
      // No trailing newline, so Python can use the file's bytes as they are.
      writeFileSync(pwPath, password, { mode: 0o600 });
      writeFileSync(wrongPwPath, `${password}x`, { mode: 0o600 });
    });

    test('openssl reads it without -legacy: PBES2 PBKDF2-HMAC-SHA256 AES-256-CBC and an HMAC-SHA256 MAC', () => {
      const r = mustRun('openssl', ['pkcs12', '-in', p12Path, '-info', '-noout', '-passin', `file:${pwPath}`]);
      const info = r.stdout + r.stderr;
      expect(info).toMatch(new RegExp(`^MAC: sha256, Iteration ${ITERATIONS}$`, 'm'));
      const pbes2 = `PBES2, PBKDF2, AES-256-CBC, Iteration ${ITERATIONS}, PRF hmacWithSHA256`;
      expect(info).toContain(`PKCS7 Encrypted data: ${pbes2}`);
      expect(info).toContain(`Shrouded Keybag: ${pbes2}`);
      expect(info).not.toMatch(/RC2|3DES|DES-EDE|pbeWithSHA1|sha1/i);
    });

    test('openssl extracts the same leaf, the CA, and the leaf key, linked by localKeyID', () => {
      const r = mustRun('openssl', ['pkcs12', '-in', p12Path, '-nodes', '-passin', `file:${pwPath}`]);

      const certs = pemBlocks(r.stdout, 'CERTIFICATE').map((c) => c.toString('hex'));
      expect(certs.sort()).toEqual([leaf.certDer.toString('hex'), ca.certDer.toString('hex')].sort());

      const keys = pemBlocks(r.stdout, 'PRIVATE KEY');
      expect(keys).toHaveLength(1);
      const publicKey = createPublicKey(createPrivateKey({ key: keys[0], format: 'der', type: 'pkcs8' }));
      expect(publicKey.export({ format: 'der', type: 'spki' })).toEqual(spkiOfCert(leaf.certDer));

      // One localKeyID on the leaf certificate, the same one on the key, none on the CA.
      const ids = [...r.stdout.matchAll(/localKeyID: ([0-9A-F ]+)/g)].map((m) => m[1].trim());
      expect(ids).toHaveLength(2);
      expect(ids[0]).toBe(ids[1]);
      expect(r.stdout).toContain(`friendlyName: ${cn}`);
    });

    test('openssl refuses a wrong password', () => {
      const r = run('openssl', ['pkcs12', '-in', p12Path, '-nodes', '-passin', `file:${wrongPwPath}`]);
      expect(r.status).not.toBe(0);
      expect(r.stdout).not.toContain('PRIVATE KEY');
    });

    test("Python's cryptography loads the key, the leaf, the chain and the friendly name", () => {
      const r = mustRun('python3', ['-c', PY_LOAD, p12Path, pwPath]);
      const loaded = JSON.parse(r.stdout) as {
        keySpki: string;
        cert: string;
        extra: string[];
        friendlyName: string;
        wrongRefused: boolean;
      };
      expect(loaded.cert).toBe(leaf.certDer.toString('hex'));
      expect(loaded.keySpki).toBe(spkiOfCert(leaf.certDer).toString('hex'));
      expect(loaded.extra).toEqual([ca.certDer.toString('hex')]);
      expect(loaded.friendlyName).toBe(cn);
      expect(loaded.wrongRefused).toBe(true);
    });
  });

  test('builds a bundle with an empty chain and no friendly name', async () => {
    const leaf = await makeLeaf(ca, EC_P256, 'bare.example.test');
    const p12Path = join(dir, 'bare.p12');
    const pwPath = join(dir, 'bare.pw');
    const p12 = await buildPkcs12({ keyPkcs8Der: leaf.keyPkcs8Der, certDer: leaf.certDer, chainDer: [], password: 'pw' });
    writeFileSync(p12Path, p12);
    writeFileSync(pwPath, 'pw', { mode: 0o600 });
    const r = mustRun('openssl', ['pkcs12', '-in', p12Path, '-nodes', '-passin', `file:${pwPath}`]);
    expect(pemBlocks(r.stdout, 'CERTIFICATE')).toEqual([leaf.certDer]);
    expect(pemBlocks(r.stdout, 'PRIVATE KEY')).toHaveLength(1);
    expect(r.stdout).not.toContain('friendlyName');
  });

  describe('input errors', () => {
    let leaf: Issued;
    let base: Pkcs12Input;

    beforeAll(async () => {
      leaf = await makeLeaf(ca, EC_P256, 'errors.example.test');
      base = { keyPkcs8Der: leaf.keyPkcs8Der, certDer: leaf.certDer, chainDer: [ca.certDer], password: 's3cret-pw' };
    });

    test('an empty password is an InvalidInputError', async () => {
      await expect(buildPkcs12({ ...base, password: '' })).rejects.toBeInstanceOf(InvalidInputError);
    });

    test('a password with a NUL is an InvalidInputError that does not echo it', async () => {
      const err = await buildPkcs12({ ...base, password: 'ab\u0000cd' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidInputError);
      expect((err as Error).message).not.toContain('ab\u0000cd');
    });

    test('a key that does not belong to the certificate is an InvalidInputError without the password', async () => {
      const err = await buildPkcs12({ ...base, keyPkcs8Der: ca.keyPkcs8Der }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidInputError);
      expect((err as Error).message).not.toContain(base.password);
    });

    test('a malformed key or certificate is an InvalidInputError', async () => {
      const junk = Buffer.from('not DER');
      await expect(buildPkcs12({ ...base, keyPkcs8Der: junk })).rejects.toBeInstanceOf(InvalidInputError);
      await expect(buildPkcs12({ ...base, certDer: junk })).rejects.toBeInstanceOf(InvalidInputError);
      await expect(buildPkcs12({ ...base, chainDer: [junk] })).rejects.toBeInstanceOf(InvalidInputError);
      const pem = Buffer.from(new X509Certificate(leaf.certDer).toString());
      await expect(buildPkcs12({ ...base, certDer: pem })).rejects.toBeInstanceOf(InvalidInputError);
    });
  });
});
