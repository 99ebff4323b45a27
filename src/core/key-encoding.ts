import { createECDH, createPrivateKey, createPublicKey, generateKeyPair, randomBytes, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import type { KeyType } from './types';
import { toPem } from './x509/pem';

/** A generated key in the encodings certctl writes: SPKI DER for the certificate, PKCS#8 PEM for the key file. */
export interface EncodedKey {
  spkiDer: Buffer;
  pkcs8Pem: string;
  /** The private key as a KeyObject, built on demand (leaves never need it). */
  privateKey(): KeyObject;
}

// Fixed DER prefixes of the key shapes OpenSSL writes (RFC 5480 / RFC 5915 / RFC 8410).
// Hand-built for two reasons:
//  - generateKeyPairSync can deadlock Node 20: a GC finalizer of an earlier KeyGenJob takes
//    a mutex the running synchronous job holds (seen here as a hung `issue`), so EC keys come
//    from ECDH and Ed25519 keys from a random seed, neither of which is a KeyGenJob;
//  - OpenSSL 3's generic encoder costs ~60 µs (PKCS#8) and ~120 µs (SPKI) per key, more than
//    generating and signing together.
// test/unit/core/key-encoding.test.ts proves the bytes equal KeyObject.export's.
const EC_SHAPES = {
  'ec-p256': {
    curve: 'prime256v1',
    jwkCurve: 'P-256',
    size: 32,
    spki: '3059301306072a8648ce3d020106082a8648ce3d030107034200',
    pkcs8Head: '308187020100301306072a8648ce3d020106082a8648ce3d030107046d306b0201010420',
    pkcs8Mid: 'a144034200',
  },
  'ec-p384': {
    curve: 'secp384r1',
    jwkCurve: 'P-384',
    size: 48,
    spki: '3076301006072a8648ce3d020106052b81040022036200',
    pkcs8Head: '3081b6020100301006072a8648ce3d020106052b8104002204819e30819b0201010430',
    pkcs8Mid: 'a164036200',
  },
} as const;
const ED25519_SPKI = Buffer.from('302a300506032b6570032100', 'hex');
const ED25519_PKCS8 = Buffer.from('302e020100300506032b657004220420', 'hex');
const generateKeyPairAsync = promisify(generateKeyPair);

/** Generates a key of the given type, encoded for a certificate and a key file. */
export async function generateEncodedKey(type: KeyType): Promise<EncodedKey> {
  return type.startsWith('rsa-') ? generateRsa(Number(type.slice(4))) : generateEncodedKeySync(type as 'ec-p256' | 'ec-p384' | 'ed25519');
}

/** The synchronous path for EC and Ed25519 keys (the issuance hot path). */
export function generateEncodedKeySync(type: 'ec-p256' | 'ec-p384' | 'ed25519'): EncodedKey {
  if (type === 'ed25519') {
    const pkcs8Der = Buffer.concat([ED25519_PKCS8, randomBytes(32)]);
    const key = createPrivateKey({ key: pkcs8Der, format: 'der', type: 'pkcs8' });
    const x = Buffer.from(createPublicKey(key).export({ format: 'jwk' }).x as string, 'base64url');
    return { spkiDer: Buffer.concat([ED25519_SPKI, x]), pkcs8Pem: toPem(pkcs8Der, 'PRIVATE KEY'), privateKey: () => key };
  }
  const shape = EC_SHAPES[type];
  const ecdh = createECDH(shape.curve);
  const point = ecdh.generateKeys();
  const raw = ecdh.getPrivateKey();
  // getPrivateKey drops leading zero octets; RFC 5915 wants the full field size.
  const d = raw.length === shape.size ? raw : Buffer.concat([Buffer.alloc(shape.size - raw.length), raw]);
  const pkcs8Der = Buffer.concat([Buffer.from(shape.pkcs8Head, 'hex'), d, Buffer.from(shape.pkcs8Mid, 'hex'), point]);
  return {
    spkiDer: Buffer.concat([Buffer.from(shape.spki, 'hex'), point]),
    pkcs8Pem: toPem(pkcs8Der, 'PRIVATE KEY'),
    // From JWK, not the PKCS#8 DER: OpenSSL 3's DER decoder takes ~0.4 ms, the JWK import ~0.05 ms.
    privateKey: () =>
      createPrivateKey({
        key: {
          kty: 'EC',
          crv: shape.jwkCurve,
          d: d.toString('base64url'),
          x: point.subarray(1, 1 + shape.size).toString('base64url'),
          y: point.subarray(1 + shape.size).toString('base64url'),
        },
        format: 'jwk',
      }),
  };
}

async function generateRsa(modulusLength: number): Promise<EncodedKey> {
  // The asynchronous job runs on libuv's pool, outside the GC-finalizer deadlock above.
  const { privateKey, publicKey } = await generateKeyPairAsync('rsa', { modulusLength, publicExponent: 0x10001 });
  return {
    spkiDer: publicKey.export({ type: 'spki', format: 'der' }),
    pkcs8Pem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    privateKey: () => privateKey,
  };
}
