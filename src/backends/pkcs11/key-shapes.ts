/**
 * How each key type certctl supports looks inside a PKCS#11 token: the mechanisms that make and
 * use it, the attribute templates, and how its public half becomes a SubjectPublicKeyInfo.
 */
import { createHash, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { InvalidInputError, NotSupportedError } from '../../core/errors';
import type { KeyType } from '../../core/types';
import { caSignatureAlgorithm, type DerSigner } from '../../core/x509/signing';
import { Tag, integerFromUnsigned, objectIdentifier, octetString, printableString, sequence } from '../../core/x509/der';
import { readTlv } from '../../core/x509/der-reader';
import type { Pkcs11Lib, Template } from './token';

// Not in pkcs11js' constants (PKCS#11 v3.0 section 6.3.5 and 6.3.6).
/** CKM_EC_EDWARDS_KEY_PAIR_GEN */
export const CKM_EC_EDWARDS_KEY_PAIR_GEN = 0x1055;
/** CKM_EDDSA */
export const CKM_EDDSA = 0x1057;
/** CKK_EC_EDWARDS */
export const CKK_EC_EDWARDS = 0x40;

const CURVE_OIDS: Partial<Record<KeyType, string>> = { 'ec-p256': '1.2.840.10045.3.1.7', 'ec-p384': '1.3.132.0.34', ed25519: '1.3.101.112' };
const JWK_CURVES: Partial<Record<KeyType, string>> = { 'ec-p256': 'P-256', 'ec-p384': 'P-384' };
const EC_SIZES: Partial<Record<KeyType, number>> = { 'ec-p256': 32, 'ec-p384': 48 };

/** The mechanisms one key type needs of a token. */
export interface KeyMechanisms {
  generate: number;
  sign: number;
  /** Their PKCS#11 names, for the message when the token lacks one. */
  names: [string, string];
}

/** What generating or signing with a key of `keyType` asks of the token. */
export function mechanismsFor(lib: Pkcs11Lib, keyType: KeyType): KeyMechanisms {
  if (keyType === 'ed25519') return { generate: CKM_EC_EDWARDS_KEY_PAIR_GEN, sign: CKM_EDDSA, names: ['CKM_EC_EDWARDS_KEY_PAIR_GEN', 'CKM_EDDSA'] };
  if (keyType.startsWith('rsa-'))
    return { generate: lib.CKM_RSA_PKCS_KEY_PAIR_GEN, sign: lib.CKM_SHA256_RSA_PKCS, names: ['CKM_RSA_PKCS_KEY_PAIR_GEN', 'CKM_SHA256_RSA_PKCS'] };
  return { generate: lib.CKM_EC_KEY_PAIR_GEN, sign: lib.CKM_ECDSA, names: ['CKM_EC_KEY_PAIR_GEN', 'CKM_ECDSA'] };
}

/**
 * The attributes every CA private key certctl makes or imports carries: kept on the token,
 * private, sensitive, never extractable, and good for signing only.
 */
export function privateKeyPolicy(lib: Pkcs11Lib, label: string, id: Buffer): Template {
  return [
    { type: lib.CKA_TOKEN, value: true },
    { type: lib.CKA_PRIVATE, value: true },
    { type: lib.CKA_SENSITIVE, value: true },
    { type: lib.CKA_EXTRACTABLE, value: false },
    { type: lib.CKA_SIGN, value: true },
    { type: lib.CKA_DECRYPT, value: false },
    { type: lib.CKA_UNWRAP, value: false },
    { type: lib.CKA_DERIVE, value: false },
    { type: lib.CKA_LABEL, value: label },
    { type: lib.CKA_ID, value: id },
  ];
}

/** The public half's attributes: on the token, for verifying only. */
export function publicKeyPolicy(lib: Pkcs11Lib, label: string, id: Buffer): Template {
  return [
    { type: lib.CKA_TOKEN, value: true },
    { type: lib.CKA_PRIVATE, value: false },
    { type: lib.CKA_VERIFY, value: true },
    { type: lib.CKA_ENCRYPT, value: false },
    { type: lib.CKA_WRAP, value: false },
    { type: lib.CKA_LABEL, value: label },
    { type: lib.CKA_ID, value: id },
  ];
}

/** The type-specific attributes of a key pair to generate: [public, private]. */
export function generationTemplates(lib: Pkcs11Lib, keyType: KeyType): [Template, Template] {
  if (keyType.startsWith('rsa-')) {
    const bits = Number(keyType.slice(4));
    return [
      [
        { type: lib.CKA_MODULUS_BITS, value: bits },
        { type: lib.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) },
      ],
      [],
    ];
  }
  return [[{ type: lib.CKA_EC_PARAMS, value: objectIdentifier(CURVE_OIDS[keyType] as string) }], []];
}

/** The attributes of a software key imported into the token (`migrate --import-ca-key`): [public, private]. */
export function importTemplates(lib: Pkcs11Lib, key: KeyObject, keyType: KeyType): [Template, Template] {
  const jwk = key.export({ format: 'jwk' });
  const b = (v: string | undefined) => Buffer.from(v ?? '', 'base64url');
  const klass = (c: number) => ({ type: lib.CKA_CLASS, value: c });
  if (keyType.startsWith('rsa-')) {
    const pub = [
      klass(lib.CKO_PUBLIC_KEY),
      { type: lib.CKA_KEY_TYPE, value: lib.CKK_RSA },
      { type: lib.CKA_MODULUS, value: b(jwk.n) },
      { type: lib.CKA_PUBLIC_EXPONENT, value: b(jwk.e) },
    ];
    const priv = [
      klass(lib.CKO_PRIVATE_KEY),
      { type: lib.CKA_KEY_TYPE, value: lib.CKK_RSA },
      { type: lib.CKA_MODULUS, value: b(jwk.n) },
      { type: lib.CKA_PUBLIC_EXPONENT, value: b(jwk.e) },
      { type: lib.CKA_PRIVATE_EXPONENT, value: b(jwk.d) },
      { type: lib.CKA_PRIME_1, value: b(jwk.p) },
      { type: lib.CKA_PRIME_2, value: b(jwk.q) },
      { type: lib.CKA_EXPONENT_1, value: b(jwk.dp) },
      { type: lib.CKA_EXPONENT_2, value: b(jwk.dq) },
      { type: lib.CKA_COEFFICIENT, value: b(jwk.qi) },
    ];
    return [pub, priv];
  }
  const params = objectIdentifier(CURVE_OIDS[keyType] as string);
  const kt = keyType === 'ed25519' ? CKK_EC_EDWARDS : lib.CKK_EC;
  const point = keyType === 'ed25519' ? b(jwk.x) : Buffer.concat([Buffer.from([4]), b(jwk.x), b(jwk.y)]);
  return [
    [
      klass(lib.CKO_PUBLIC_KEY),
      { type: lib.CKA_KEY_TYPE, value: kt },
      { type: lib.CKA_EC_PARAMS, value: params },
      { type: lib.CKA_EC_POINT, value: octetString(point) },
    ],
    [klass(lib.CKO_PRIVATE_KEY), { type: lib.CKA_KEY_TYPE, value: kt }, { type: lib.CKA_EC_PARAMS, value: params }, { type: lib.CKA_VALUE, value: b(jwk.d) }],
  ];
}

/**
 * The attribute types {@link keyTypeOfObject} and {@link spkiOfPublicObject} read of a key whose
 * CKA_KEY_TYPE is `ckk` (a token refuses the whole read when one type does not apply to the key).
 */
export function shapeAttributes(lib: Pkcs11Lib, klass: 'public' | 'private', ckk: number): number[] {
  if (ckk === lib.CKK_RSA) return klass === 'public' ? [lib.CKA_MODULUS, lib.CKA_PUBLIC_EXPONENT] : [lib.CKA_MODULUS];
  return klass === 'public' ? [lib.CKA_EC_PARAMS, lib.CKA_EC_POINT] : [lib.CKA_EC_PARAMS];
}

/**
 * The certctl key type of a token key from its attributes.
 * @throws NotSupportedError for any other type, curve or size.
 */
export function keyTypeOfObject(lib: Pkcs11Lib, attrs: Map<number, Buffer>, what: string): KeyType {
  const keyType = readUlong(attrs.get(lib.CKA_KEY_TYPE));
  if (keyType === lib.CKK_RSA) {
    const bits = bitLength(attrs.get(lib.CKA_MODULUS) ?? Buffer.alloc(0));
    if (bits === 2048 || bits === 3072 || bits === 4096) return `rsa-${bits}` as KeyType;
    throw new NotSupportedError(`${what} is an RSA key of ${bits} bits; certctl signs with 2048, 3072 or 4096 bits`);
  }
  const params = attrs.get(lib.CKA_EC_PARAMS);
  // PKCS#11 v3.0 names Edwards curves by OID or by PrintableString; SoftHSM2 stores the latter on private keys.
  const match = params?.equals(printableString('edwards25519'))
    ? 'ed25519'
    : (Object.keys(CURVE_OIDS) as KeyType[]).find((t) => params && objectIdentifier(CURVE_OIDS[t] as string).equals(params));
  if ((keyType === lib.CKK_EC && match && match !== 'ed25519') || (keyType === CKK_EC_EDWARDS && match === 'ed25519')) return match;
  throw new NotSupportedError(`${what} is not a key certctl signs with; use EC P-256/P-384, RSA 2048/3072/4096 or Ed25519`);
}

/**
 * The SubjectPublicKeyInfo DER of a public key object (its CKA_EC_POINT or modulus and exponent).
 * @throws InvalidInputError when the attributes do not make a public key.
 */
export function spkiOfPublicObject(lib: Pkcs11Lib, attrs: Map<number, Buffer>, keyType: KeyType, what: string): Buffer {
  let jwk: JsonWebKey;
  if (keyType.startsWith('rsa-')) {
    jwk = { kty: 'RSA', n: b64(attrs.get(lib.CKA_MODULUS)), e: b64(attrs.get(lib.CKA_PUBLIC_EXPONENT)) };
  } else {
    const point = unwrapOctetString(attrs.get(lib.CKA_EC_POINT) ?? Buffer.alloc(0));
    if (keyType === 'ed25519') jwk = { kty: 'OKP', crv: 'Ed25519', x: b64(point) };
    else {
      const size = EC_SIZES[keyType] as number;
      if (point.length !== 1 + 2 * size || point[0] !== 4) throw new InvalidInputError(`${what}: its CKA_EC_POINT is not an uncompressed ${keyType} point`);
      jwk = { kty: 'EC', crv: JWK_CURVES[keyType], x: b64(point.subarray(1, 1 + size)), y: b64(point.subarray(1 + size)) };
    }
  }
  try {
    return createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'der' });
  } catch (err) {
    throw new InvalidInputError(`${what}: its attributes do not make a ${keyType} public key`, { cause: err });
  }
}

/**
 * A DerSigner whose signatures the token makes: ECDSA over a digest computed here (CKM_ECDSA,
 * which every EC token offers), its raw r‖s re-encoded as DER; RSA PKCS#1 v1.5 with SHA-256
 * (CKM_SHA256_RSA_PKCS); Ed25519 over the message (CKM_EDDSA). Same algorithms as createDerSigner.
 */
export function tokenDerSigner(keyType: KeyType, signRaw: (data: Buffer, maxLength: number) => Buffer): DerSigner {
  const { algorithmIdentifierDer, hash } = caSignatureAlgorithm(keyType);
  if (keyType === 'ed25519') return { algorithmIdentifierDer, sign: (data) => signRaw(data, 64) };
  if (keyType.startsWith('rsa-')) {
    const bytes = Number(keyType.slice(4)) / 8;
    return { algorithmIdentifierDer, sign: (data) => signRaw(data, bytes) };
  }
  const size = EC_SIZES[keyType] as number;
  return {
    algorithmIdentifierDer,
    sign: (data) => {
      const raw = signRaw(
        createHash(hash as string)
          .update(data)
          .digest(),
        2 * size,
      );
      return sequence([integerFromUnsigned(raw.subarray(0, size)), integerFromUnsigned(raw.subarray(size))]);
    },
  };
}

function b64(v: Buffer | undefined): string {
  return (v ?? Buffer.alloc(0)).toString('base64url');
}

/** CKA_EC_POINT is a DER OCTET STRING by the standard; some tokens give the raw point. */
function unwrapOctetString(v: Buffer): Buffer {
  if (v.length > 2 && v[0] === Tag.OCTET_STRING) {
    const t = readTlv(v);
    if (t.end === v.length) return v.subarray(t.contentStart, t.end);
  }
  return v;
}

/** A CK_ULONG attribute value (host byte order, as pkcs11js returns it); -1 when absent. */
export function readUlong(v: Buffer | undefined): number {
  if (!v || v.length === 0) return -1;
  return v.length >= 8 ? Number(v.readBigUInt64LE(0)) : v.readUInt32LE(0);
}

function bitLength(modulus: Buffer): number {
  let i = 0;
  while (i < modulus.length && modulus[i] === 0) i++;
  return i === modulus.length ? 0 : (modulus.length - i - 1) * 8 + (32 - Math.clz32(modulus[i]));
}
