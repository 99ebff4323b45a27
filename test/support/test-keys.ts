import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { generateEncodedKeySync } from '../../src/core/key-encoding';

/** Key types the x509 builder tests cover. */
export type TestKeyType = 'ec-p256' | 'ec-p384' | 'rsa-2048' | 'ed25519';
export const TEST_KEY_TYPES: TestKeyType[] = ['ec-p256', 'ec-p384', 'rsa-2048', 'ed25519'];

const rsaPool: KeyObject[] = [];
let rsaNext = 0;

/**
 * A fresh key pair as node KeyObjects. EC and Ed25519 keys avoid generateKeyPairSync, which can
 * deadlock Node 20 (see src/core/key-encoding.ts); RSA keys come from a pool of three, generated
 * once, so at most three synchronous key jobs ever run in a test process.
 */
export function nodeKeyPair(type: TestKeyType): { privateKey: KeyObject; publicKey: KeyObject } {
  if (type === 'rsa-2048') {
    if (rsaPool.length < 3) rsaPool.push(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey);
    const privateKey = rsaPool[rsaNext++ % rsaPool.length];
    return { privateKey, publicKey: createPublicKey(privateKey) };
  }
  const privateKey = createPrivateKey(generateEncodedKeySync(type).pkcs8Pem);
  return { privateKey, publicKey: createPublicKey(privateKey) };
}
