import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { generateEncodedKey } from '../../../src/core/key-encoding';
import { KEY_TYPES } from '../../../src/core/types';

describe('generateEncodedKey', () => {
  it.each(KEY_TYPES.filter((t) => !t.startsWith('rsa-') || t === 'rsa-2048'))('encodes %s byte-identically to OpenSSL (many keys)', async (type) => {
    for (let i = 0; i < (type.startsWith('rsa') ? 1 : 300); i++) {
      const key = await generateEncodedKey(type);
      const openssl = createPrivateKey(key.pkcs8Pem);
      expect(key.pkcs8Pem).toBe(openssl.export({ type: 'pkcs8', format: 'pem' }));
      expect(key.spkiDer.equals(createPublicKey(openssl).export({ type: 'spki', format: 'der' }))).toBe(true);
    }
  });

  it('pads EC private scalars with leading zero octets to the field size', async () => {
    // ~1 in 256 P-256 scalars starts with 0x00; 2,000 keys make a short scalar near certain.
    let sawShort = false;
    for (let i = 0; i < 2000 && !sawShort; i++) {
      const key = await generateEncodedKey('ec-p256');
      const d = createPrivateKey(key.pkcs8Pem).export({ format: 'jwk' }).d as string;
      sawShort = Buffer.from(d, 'base64url')[0] === 0;
      expect(key.pkcs8Pem).toBe(createPrivateKey(key.pkcs8Pem).export({ type: 'pkcs8', format: 'pem' }));
    }
    expect(sawShort).toBe(true);
  });

  it('round-trips: the private key signs what the SPKI verifies', async () => {
    for (const type of ['ec-p256', 'ec-p384', 'ed25519'] as const) {
      const key = await generateEncodedKey(type);
      const data = Buffer.from('certctl');
      const alg = type === 'ed25519' ? null : 'sha256';
      const sig = sign(alg, data, key.privateKey());
      expect(verify(alg, data, createPublicKey({ key: key.spkiDer, format: 'der', type: 'spki' }), sig)).toBe(true);
    }
  });
});
