import type { KeyObject } from 'node:crypto';
import type { KeyType } from './types';

/** A generated key in the encodings certctl writes: SPKI DER for the certificate, PKCS#8 PEM for the key file. */
export interface EncodedKey {
  spkiDer: Buffer;
  pkcs8Pem: string;
}

// Fixed DER prefixes of the key shapes OpenSSL writes (RFC 5480 / RFC 5915 / RFC 8410).
// Hand-built because OpenSSL 3's generic encoder costs ~60 µs (PKCS#8) and ~120 µs (SPKI)
// per key, more than generating and signing together; reading the JWK fields costs ~12 µs.
// test/unit/core/key-encoding.test.ts proves the bytes equal KeyObject.export's.
const EC_SHAPES = {
  'ec-p256': {
    size: 32,
    spki: '3059301306072a8648ce3d020106082a8648ce3d030107034200',
    pkcs8Head: '308187020100301306072a8648ce3d020106082a8648ce3d030107046d306b0201010420',
    pkcs8Mid: 'a144034200',
  },
  'ec-p384': {
    size: 48,
    spki: '3076301006072a8648ce3d020106052b81040022036200',
    pkcs8Head: '3081b6020100301006072a8648ce3d020106052b8104002204819e30819b0201010430',
    pkcs8Mid: 'a164036200',
  },
} as const;
const ED25519_SPKI = '302a300506032b6570032100';
const ED25519_PKCS8 = '302e020100300506032b657004220420';

const hex = (h: string) => Buffer.from(h, 'hex');
const b64u = (s: string) => Buffer.from(s, 'base64url');

/** Encodes a private key's SPKI and PKCS#8 PEM, by fixed templates for EC and Ed25519 and OpenSSL for RSA. */
export function encodeKey(privateKey: KeyObject, publicKey: KeyObject, keyType: KeyType): EncodedKey {
  if (keyType === 'ec-p256' || keyType === 'ec-p384') {
    const shape = EC_SHAPES[keyType];
    const jwk = privateKey.export({ format: 'jwk' });
    const point = Buffer.concat([Buffer.of(0x04), b64u(jwk.x as string), b64u(jwk.y as string)]);
    const d = b64u(jwk.d as string);
    if (d.length !== shape.size || point.length !== 2 * shape.size + 1) return viaOpenSsl(privateKey, publicKey);
    return {
      spkiDer: Buffer.concat([hex(shape.spki), point]),
      pkcs8Pem: pem(Buffer.concat([hex(shape.pkcs8Head), d, hex(shape.pkcs8Mid), point])),
    };
  }
  if (keyType === 'ed25519') {
    const jwk = privateKey.export({ format: 'jwk' });
    return {
      spkiDer: Buffer.concat([hex(ED25519_SPKI), b64u(jwk.x as string)]),
      pkcs8Pem: pem(Buffer.concat([hex(ED25519_PKCS8), b64u(jwk.d as string)])),
    };
  }
  return viaOpenSsl(privateKey, publicKey);
}

function viaOpenSsl(privateKey: KeyObject, publicKey: KeyObject): EncodedKey {
  return {
    spkiDer: publicKey.export({ type: 'spki', format: 'der' }),
    pkcs8Pem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
  };
}

function pem(der: Buffer): string {
  const b64 = der.toString('base64');
  let out = '-----BEGIN PRIVATE KEY-----\n';
  for (let i = 0; i < b64.length; i += 64) out += `${b64.slice(i, i + 64)}\n`;
  return `${out}-----END PRIVATE KEY-----\n`;
}
