import { createPrivateKey, type KeyObject } from 'node:crypto';
import { InvalidInputError, PolicyError } from './errors';
import type { KeyType } from './types';

/**
 * Names the type of a public or private key, refusing keys certctl will not certify.
 * @throws PolicyError for RSA under 2048 bits, DSA, or an unsupported curve or size.
 */
export function keyTypeOf(key: KeyObject, source = 'key'): KeyType {
  const kind = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  if (kind === 'rsa') {
    const bits = details.modulusLength ?? 0;
    if (bits < 2048) throw new PolicyError(`${source}: RSA key of ${bits} bits is too weak; use at least 2048 bits (rsa-2048, rsa-3072 or rsa-4096)`);
    if (bits === 2048 || bits === 3072 || bits === 4096) return `rsa-${bits}` as KeyType;
    throw new PolicyError(`${source}: RSA key of ${bits} bits is not supported; use 2048, 3072 or 4096 bits`);
  }
  if (kind === 'ec') {
    if (details.namedCurve === 'prime256v1') return 'ec-p256';
    if (details.namedCurve === 'secp384r1') return 'ec-p384';
    throw new PolicyError(`${source}: EC curve ${details.namedCurve ?? 'unknown'} is not supported; use P-256 or P-384`);
  }
  if (kind === 'ed25519') return 'ed25519';
  throw new PolicyError(`${source}: ${kind ?? 'unknown'} keys are not supported; use EC P-256/P-384, RSA 2048+ or Ed25519`);
}

/**
 * Exports a private key as PKCS#8 PEM encrypted with PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC),
 * which `openssl pkey -passin` reads.
 */
export function encryptPrivateKey(key: KeyObject, passphrase: string): string {
  return key.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase }) as string;
}

/**
 * Reads a PKCS#8 PEM private key, decrypting it when needed.
 * @throws InvalidInputError when the key is encrypted and the passphrase is missing or wrong.
 */
export function readPrivateKey(pem: string, passphrase: string | undefined, what: string): KeyObject {
  const encrypted = pem.includes('ENCRYPTED PRIVATE KEY');
  if (encrypted && passphrase === undefined) {
    throw new InvalidInputError(`${what} is encrypted; give its passphrase with --passphrase-file FILE or CERTCTL_CA_PASSPHRASE`);
  }
  try {
    return createPrivateKey(encrypted ? { key: pem, passphrase } : pem);
  } catch (err) {
    if (encrypted) {
      throw new InvalidInputError(`${what}: the passphrase is wrong (could not decrypt the key); check --passphrase-file or CERTCTL_CA_PASSPHRASE`, {
        cause: err,
      });
    }
    throw new InvalidInputError(`${what} is not a readable PKCS#8 private key`, { cause: err });
  }
}
