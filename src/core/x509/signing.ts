/**
 * What the builders do with keys: sign DER (certificates and CRLs with the CA's key, a CSR with
 * its subject's) through synchronous node:crypto, the issuance hot path; and name a key by its
 * key identifier (SKI/AKI).
 */
import { constants, createHash, sign, type KeyObject } from 'node:crypto';
import { InvalidInputError, NotSupportedError } from '../errors';
import type { KeyType } from '../types';
import { NULL_DER, objectIdentifier, sequence, Tag } from './der';
import { readTlv } from './der-reader';

const OID = {
  ecdsaWithSHA256: '1.2.840.10045.4.3.2',
  ecdsaWithSHA384: '1.2.840.10045.4.3.3',
  sha256WithRSAEncryption: '1.2.840.113549.1.1.11',
  ed25519: '1.3.101.112',
} as const;

/** Signs DER with one private key: the AlgorithmIdentifier it signs with, and a synchronous sign. */
export interface DerSigner {
  /** AlgorithmIdentifier DER, used both inside the TBS and beside the signature. */
  algorithmIdentifierDer: Buffer;
  /** The signature value over `data` (DER Ecdsa-Sig-Value for ECDSA). */
  sign(data: Buffer): Buffer;
}

/**
 * A signer for a private key (the CA's, or a CSR subject's): EC P-256 → ecdsa-with-SHA256, P-384 → ecdsa-with-SHA384
 * (no parameters, RFC 5758), RSA → sha256WithRSAEncryption (NULL parameters, PKCS#1 v1.5),
 * Ed25519 → id-Ed25519 (no parameters). Signing uses synchronous crypto.sign.
 * @throws InvalidInputError when the key is not a private key; NotSupportedError for any other key type or curve.
 */
export function createDerSigner(privateKey: KeyObject): DerSigner {
  if (privateKey.type !== 'private') throw new InvalidInputError('the CA key must be a private key');
  const kind = privateKey.asymmetricKeyType;
  if (kind === 'ec') {
    const curve = privateKey.asymmetricKeyDetails?.namedCurve;
    const choice =
      curve === 'prime256v1' ? { oid: OID.ecdsaWithSHA256, hash: 'sha256' } : curve === 'secp384r1' ? { oid: OID.ecdsaWithSHA384, hash: 'sha384' } : undefined;
    if (!choice) throw new NotSupportedError(`CA keys on curve ${curve ?? 'unknown'} are not supported; use P-256 or P-384`);
    const options = { key: privateKey, dsaEncoding: 'der' as const };
    return {
      algorithmIdentifierDer: sequence([objectIdentifier(choice.oid)]),
      sign: (data) => sign(choice.hash, data, options),
    };
  }
  if (kind === 'rsa') {
    const options = { key: privateKey, padding: constants.RSA_PKCS1_PADDING };
    return {
      algorithmIdentifierDer: sequence([objectIdentifier(OID.sha256WithRSAEncryption), NULL_DER]),
      sign: (data) => sign('sha256', data, options),
    };
  }
  if (kind === 'ed25519') {
    return {
      algorithmIdentifierDer: sequence([objectIdentifier(OID.ed25519)]),
      sign: (data) => sign(null, data, privateKey),
    };
  }
  throw new NotSupportedError(`${kind ?? 'unknown'} CA keys are not supported; use EC P-256/P-384, RSA or Ed25519`);
}

/**
 * Key identifier per RFC 7093 method 1: the leftmost 160 bits of the SHA-256 of the
 * subjectPublicKey BIT STRING contents (without the unused-bits octet). No SHA-1 anywhere.
 * @throws InvalidInputError when `spkiDer` is not a SubjectPublicKeyInfo.
 */
export function keyIdentifier(spkiDer: Buffer): Buffer {
  const spki = readTlv(spkiDer);
  if (spki.tag !== Tag.SEQUENCE || spki.end !== spkiDer.length) throw new InvalidInputError('not a SubjectPublicKeyInfo');
  const algorithm = readTlv(spkiDer, spki.contentStart);
  const publicKey = readTlv(spkiDer, algorithm.end);
  if (algorithm.tag !== Tag.SEQUENCE || publicKey.tag !== Tag.BIT_STRING || publicKey.end !== spki.end || publicKey.end <= publicKey.contentStart) {
    throw new InvalidInputError('not a SubjectPublicKeyInfo');
  }
  const bits = spkiDer.subarray(publicKey.contentStart + 1, publicKey.end);
  return createHash('sha256').update(bits).digest().subarray(0, 20);
}

/**
 * The algorithm createDerSigner picks for a CA key of `keyType`, for a signer whose key is
 * elsewhere (a token): the AlgorithmIdentifier DER and the digest (none for Ed25519, which signs
 * the message itself).
 */
export function caSignatureAlgorithm(keyType: KeyType): { algorithmIdentifierDer: Buffer; hash?: 'sha256' | 'sha384' } {
  if (keyType === 'ed25519') return { algorithmIdentifierDer: sequence([objectIdentifier(OID.ed25519)]) };
  if (keyType.startsWith('rsa-')) return { algorithmIdentifierDer: sequence([objectIdentifier(OID.sha256WithRSAEncryption), NULL_DER]), hash: 'sha256' };
  const p384 = keyType === 'ec-p384';
  return { algorithmIdentifierDer: sequence([objectIdentifier(p384 ? OID.ecdsaWithSHA384 : OID.ecdsaWithSHA256)]), hash: p384 ? 'sha384' : 'sha256' };
}
