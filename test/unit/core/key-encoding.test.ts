import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { encodeKey } from '../../../src/core/key-encoding';
import { generateKey } from '../../../src/core/keys';
import { KEY_TYPES } from '../../../src/core/types';

describe('encodeKey', () => {
  it.each(KEY_TYPES.filter((t) => !t.startsWith('rsa-') || t === 'rsa-2048'))('is byte-identical to OpenSSL for %s (50 keys)', (type) => {
    for (let i = 0; i < (type.startsWith('rsa') ? 2 : 50); i++) {
      const { privateKey, publicKey } = generateKey(type);
      const encoded = encodeKey(privateKey, publicKey, type);
      expect(encoded.spkiDer.equals(publicKey.export({ type: 'spki', format: 'der' }))).toBe(true);
      expect(encoded.pkcs8Pem).toBe(privateKey.export({ type: 'pkcs8', format: 'pem' }));
    }
  });

  it('round-trips: the encoded private key signs what the encoded public key verifies', () => {
    const { privateKey, publicKey } = generateKey('ec-p384');
    const encoded = encodeKey(privateKey, publicKey, 'ec-p384');
    const data = Buffer.from('certctl');
    const sig = sign('sha384', data, createPrivateKey(encoded.pkcs8Pem));
    expect(verify('sha384', data, createPublicKey({ key: encoded.spkiDer, format: 'der', type: 'spki' }), sig)).toBe(true);
  });
});
