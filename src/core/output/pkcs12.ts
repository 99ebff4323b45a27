import { X509Certificate, createHash, createPrivateKey, webcrypto, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { InternalError, InvalidInputError } from '../errors';

/** What goes into a PKCS#12 bundle: one leaf key, its certificate and the chain above it. */
export interface Pkcs12Input {
  /** Unencrypted PKCS#8 PrivateKeyInfo DER of the leaf key. */
  keyPkcs8Der: Buffer;
  /** Leaf certificate DER. */
  certDer: Buffer;
  /** Issuing CA chain, nearest first (may be empty). */
  chainDer: Buffer[];
  /** Bundle password; never logged, never in an error message. */
  password: string;
  /** Label shown by importers (e.g. the CN), set on the key and the leaf certificate. */
  friendlyName?: string;
}

/**
 * One iteration count for every password-based derivation in the bundle: both PBKDF2
 * runs (key bag, certificate safe) and the PKCS#12 KDF of the MAC.
 *
 * - They are equal because an attacker guessing passwords picks the cheapest oracle:
 *   a fast MAC would make slow encryption pointless (OpenSSL 3's default is 2048 for all).
 * - 300,000 is the highest count that .NET's X509CertificateLoader accepts without the
 *   caller loosening Pkcs12LoaderLimits (MacIterationLimit and IndividualKdfIterationLimit
 *   are 300,000, inclusive; TotalKdfIterationLimit is 1,000,000 and we spend 600,000 of it).
 *   OWASP's 600,000 for PBKDF2-HMAC-SHA256 would make such bundles unreadable there.
 *   Java's PKCS12KeyStore caps at 5,000,000; OpenSSL 3 and Python's cryptography read it.
 * - It is ~150x OpenSSL's 2048 and costs us ~0.5 s per export (the MAC KDF runs in
 *   pkijs's pure-JS SHA-256; PBKDF2 is native), paid once per bundle.
 */
const KDF_ITERATIONS = 300_000;

/** AES-256-CBC: the PBES2 cipher OpenSSL 3 and current Java write by default, so every modern reader has it. */
const CONTENT_ENCRYPTION = { name: 'AES-CBC', length: 256 } as const;
/** PBKDF2's PRF and the MAC's digest; SHA-1 is deliberately not offered. */
const HASH = 'SHA-256';

const OID_DATA = '1.2.840.113549.1.7.1';
const OID_SHROUDED_KEY_BAG = '1.2.840.113549.1.12.10.1.2';
const OID_CERT_BAG = '1.2.840.113549.1.12.10.1.3';
const OID_X509_CERTIFICATE = '1.2.840.113549.1.9.22.1';
const OID_FRIENDLY_NAME = '1.2.840.113549.1.9.20';
const OID_LOCAL_KEY_ID = '1.2.840.113549.1.9.21';

/**
 * pkijs engine handed to every call explicitly rather than via pkijs.setEngine, so this
 * module neither depends on nor changes the process-wide engine other code may set.
 */
const engine = new pkijs.CryptoEngine({ name: 'node', crypto: webcrypto });

/**
 * Builds a password-protected PKCS#12 (PFX) holding the leaf key, the leaf certificate and
 * its chain, readable by OpenSSL 3 without -legacy: PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC)
 * for the key bag and the certificate safe, HMAC-SHA256 MAC via the PKCS#12 KDF.
 * @throws InvalidInputError for an empty (or NUL-containing) password, a key or certificate that
 *   is not DER, or a key that does not belong to the leaf certificate.
 * @throws InternalError when encoding or encryption fails unexpectedly.
 */
export async function buildPkcs12(input: Pkcs12Input): Promise<Buffer> {
  const password = encodePassword(input.password);
  const key = readPrivateKey(input.keyPkcs8Der);
  const leaf = readCertificate(input.certDer, 'leaf certificate');
  const chain = input.chainDer.map((der, i) => readCertificate(der, `chain certificate ${i + 1}`));
  if (!leaf.checkPrivateKey(key)) {
    throw new InvalidInputError('the private key does not belong to the leaf certificate');
  }

  try {
    return await assemble(input, leaf, chain, password);
  } catch (err) {
    // pkijs errors name algorithms and fields, never the password or key bytes.
    const message = err instanceof Error ? err.message : String(err);
    throw new InternalError(`building the PKCS#12 bundle failed: ${message}`, { cause: err });
  } finally {
    // Best effort only: pkijs and WebCrypto keep their own short-lived copies.
    new Uint8Array(password).fill(0);
  }
}

/** PBES2 parameters of both encrypted parts (key bag, certificate safe). */
interface Pbes2Params {
  password: ArrayBuffer;
  contentEncryptionAlgorithm: typeof CONTENT_ENCRYPTION;
  hmacHashAlgorithm: typeof HASH;
  iterationCount: number;
}

async function assemble(input: Pkcs12Input, leaf: X509Certificate, chain: X509Certificate[], password: ArrayBuffer): Promise<Buffer> {
  const pbes2: Pbes2Params = {
    password,
    contentEncryptionAlgorithm: CONTENT_ENCRYPTION,
    hmacHashAlgorithm: HASH,
    iterationCount: KDF_ITERATIONS,
  };
  const leafAttributes = leafBagAttributes(leaf, input.friendlyName);
  const keyBag = await shroudedKeyBag(input.keyPkcs8Der, leafAttributes, pbes2);

  // OpenSSL's layout: certificates in a password-encrypted SafeContents (privacy mode 1),
  // the already-shrouded key in a plain one (mode 0) so it is not encrypted twice.
  const authenticatedSafe = new pkijs.AuthenticatedSafe({
    parsedValue: {
      safeContents: [
        {
          privacyMode: 1,
          value: new pkijs.SafeContents({ safeBags: [certBag(leaf, leafAttributes), ...chain.map((c) => certBag(c))] }),
        },
        { privacyMode: 0, value: new pkijs.SafeContents({ safeBags: [keyBag] }) },
      ],
    },
  });
  await authenticatedSafe.makeInternalValues({ safeContents: [{ ...pbes2 }, {}] }, engine);

  const pfx = new pkijs.PFX({ parsedValue: { integrityMode: 0, authenticatedSafe } });
  await pfx.makeInternalValues(
    {
      password,
      iterations: KDF_ITERATIONS,
      // The MAC key comes from the PKCS#12 KDF (RFC 7292 B.2) over hmacHashAlgorithm;
      // pkijs only checks that pbkdf2HashAlgorithm is present and never uses it.
      hmacHashAlgorithm: HASH,
      pbkdf2HashAlgorithm: { name: HASH },
    },
    engine,
  );
  return Buffer.from(pfx.toSchema().toBER(false));
}

/**
 * Attributes linking the key to its certificate. localKeyId is only an identifier, so
 * SHA-256 of the certificate works as well as OpenSSL's SHA-1 and keeps SHA-1 out.
 */
function leafBagAttributes(leaf: X509Certificate, friendlyName: string | undefined): pkijs.Attribute[] {
  const attributes = [
    new pkijs.Attribute({
      type: OID_LOCAL_KEY_ID,
      values: [new asn1js.OctetString({ valueHex: toArrayBuffer(createHash('sha256').update(leaf.raw).digest()) })],
    }),
  ];
  if (friendlyName) {
    attributes.push(new pkijs.Attribute({ type: OID_FRIENDLY_NAME, values: [new asn1js.BmpString({ value: friendlyName })] }));
  }
  return attributes;
}

/**
 * The key bag. The caller's PKCS#8 bytes are encrypted as given: going through
 * PKCS8ShroudedKeyBag.makeInternalValues would re-encode them via pkijs's PrivateKeyInfo,
 * which drops fields it does not model (e.g. a PKCS#8 v2 public key).
 * @throws InternalError when the encryption produces no ciphertext.
 */
async function shroudedKeyBag(keyPkcs8Der: Buffer, attributes: pkijs.Attribute[], pbes2: Pbes2Params): Promise<pkijs.SafeBag> {
  const shrouded = await engine.encryptEncryptedContentInfo({
    ...pbes2,
    contentToEncrypt: toArrayBuffer(keyPkcs8Der),
    contentType: OID_DATA,
  });
  if (!shrouded.encryptedContent) throw new InternalError('key encryption produced no ciphertext');
  return new pkijs.SafeBag({
    bagId: OID_SHROUDED_KEY_BAG,
    bagValue: new pkijs.PKCS8ShroudedKeyBag({
      encryptionAlgorithm: shrouded.contentEncryptionAlgorithm,
      encryptedData: shrouded.encryptedContent,
    }),
    bagAttributes: attributes,
  });
}

/** A certificate bag holding the certificate's exact DER (CertBag.parsedValue would re-encode it). */
function certBag(cert: X509Certificate, attributes?: pkijs.Attribute[]): pkijs.SafeBag {
  return new pkijs.SafeBag({
    bagId: OID_CERT_BAG,
    bagValue: new pkijs.CertBag({
      certId: OID_X509_CERTIFICATE,
      certValue: new asn1js.OctetString({ valueHex: toArrayBuffer(cert.raw) }),
    }),
    ...(attributes ? { bagAttributes: attributes } : {}),
  });
}

/**
 * UTF-8 bytes of the password: PBES2 feeds them to PBKDF2 as-is and pkijs's MAC KDF turns
 * them into the BMPString RFC 7292 wants, which is also what OpenSSL 3 and .NET do.
 */
function encodePassword(password: string): ArrayBuffer {
  if (typeof password !== 'string' || password.length === 0) {
    throw new InvalidInputError('a PKCS#12 bundle needs a non-empty password');
  }
  // A NUL would end the BMPString the MAC KDF hashes, and a lone surrogate has no UTF-8
  // form (it would silently become U+FFFD): either way readers would derive other keys.
  if (password.includes('\u0000') || /\p{Cs}/u.test(password)) {
    throw new InvalidInputError('the PKCS#12 password contains a NUL or an unpaired surrogate character');
  }
  const utf8 = new TextEncoder().encode(password);
  const copy = toArrayBuffer(utf8);
  utf8.fill(0);
  return copy;
}

function readPrivateKey(der: Buffer): KeyObject {
  try {
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } catch (err) {
    throw new InvalidInputError('the private key is not an unencrypted PKCS#8 DER key', { cause: err });
  }
}

function readCertificate(der: Buffer, what: string): X509Certificate {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(der);
  } catch (err) {
    throw new InvalidInputError(`the ${what} is not a DER X.509 certificate`, { cause: err });
  }
  // X509Certificate also accepts PEM; the bundle must carry DER, so insist on it.
  if (!cert.raw.equals(der)) throw new InvalidInputError(`the ${what} is not a DER X.509 certificate`);
  return cert;
}

/** A standalone ArrayBuffer copy (pkijs wants ArrayBuffer; Node Buffers may share a pool). */
function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return copy.buffer;
}
