/**
 * Builds the X.509 v3 certificates certctl issues (DESIGN.md "Certificates certctl
 * issues") as DER, by hand, from one fixed shape, and signs them with synchronous
 * node:crypto. See der.ts for why this is not left to @peculiar/x509; the tests
 * prove the TBSCertificate byte-identical to what X509CertificateGenerator builds
 * from the same inputs.
 */
import { constants, createHash, sign, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { InvalidInputError, NotSupportedError } from '../errors';
import type { KeyType } from '../types';
import {
  NULL_DER,
  bitString,
  boolean,
  explicit,
  ia5String,
  implicit,
  integer,
  integerFromUnsigned,
  isPrintableString,
  namedBitString,
  objectIdentifier,
  octetString,
  printableString,
  readTlv,
  sequence,
  setOf,
  Tag,
  time,
  utf8String,
} from './der';

/** KeyUsage bits certctl sets. */
export type KeyUsageName = 'digitalSignature' | 'keyEncipherment' | 'keyCertSign' | 'cRLSign';
/** ExtendedKeyUsage purposes certctl sets. */
export type ExtKeyUsageName = 'serverAuth' | 'clientAuth';

/** One attribute of a distinguished name; each becomes its own RDN. */
export interface NameAttribute {
  type: 'CN' | 'O' | 'OU' | 'C';
  value: string;
}

const ATTRIBUTE_OIDS: Readonly<Record<NameAttribute['type'], string>> = {
  CN: '2.5.4.3',
  O: '2.5.4.10',
  OU: '2.5.4.11',
  C: '2.5.4.6',
};
// RFC 5280 Appendix A upper bounds (ub-common-name, ub-organization-name, ub-organizational-unit-name).
const ATTRIBUTE_MAX_LENGTH = 64;

function nameValue(attr: NameAttribute): Buffer {
  if (attr.type === 'C') {
    if (!/^[A-Z]{2}$/.test(attr.value)) {
      throw new InvalidInputError(`country "${attr.value}" must be a two-letter ISO 3166 code in upper case, e.g. US`);
    }
    return printableString(attr.value);
  }
  const chars = [...attr.value].length;
  if (chars === 0 || chars > ATTRIBUTE_MAX_LENGTH) {
    throw new InvalidInputError(`${attr.type} must be 1 to ${ATTRIBUTE_MAX_LENGTH} characters, got ${chars}`);
  }
  // Same choice as @peculiar/x509's Name (and Go's crypto/x509): PrintableString when every
  // character allows it, UTF8String otherwise. Both are valid under RFC 5280 4.1.2.4.
  return isPrintableString(attr.value) ? printableString(attr.value) : utf8String(attr.value);
}

/**
 * Name DER: an RDNSequence with one attribute per RDN, in the order given. CN/O/OU are
 * PrintableString when every character allows it, else UTF8String (as @peculiar/x509's
 * Name does); C is PrintableString. `encodeName([])` is the empty name (30 00).
 * @throws InvalidInputError for an empty or over-long (> 64 characters) CN/O/OU, or a C that is not two upper-case letters.
 */
export function encodeName(attrs: NameAttribute[]): Buffer {
  const rdns = attrs.map((attr) => {
    const oid = ATTRIBUTE_OIDS[attr.type];
    if (!oid) throw new InvalidInputError(`unsupported name attribute type "${String(attr.type)}"`);
    return setOf([sequence([objectIdentifier(oid), nameValue(attr)])]);
  });
  return sequence(rdns);
}

/** Everything that varies between the certificates certctl issues; the shape itself is fixed. */
export interface CertificateTemplate {
  /** Unsigned big-endian magnitude (e.g. 16 random bytes); encoded as a positive INTEGER. */
  serial: Buffer;
  /** Issuer Name DER, copied verbatim from the CA certificate's subject. */
  issuerDer: Buffer;
  /** Subject Name DER (encodeName([]) for an empty subject). */
  subjectDer: Buffer;
  notBefore: Date;
  notAfter: Date;
  /** SubjectPublicKeyInfo DER (KeyObject.export({ type: 'spki', format: 'der' })). */
  spkiDer: Buffer;
  /** Always critical. */
  basicConstraints: { ca: boolean; pathLen?: number };
  /** Always critical. */
  keyUsage: KeyUsageName[];
  /** Extension omitted when empty; non-critical. */
  extKeyUsage: ExtKeyUsageName[];
  subjectKeyId: Buffer;
  /** Omitted for a self-signed root. */
  authorityKeyId?: Buffer;
  /** SAN omitted when both are empty; critical iff the subject is empty. */
  dnsNames: string[];
  ipAddresses: string[];
  /** CRLDistributionPoints (one fullName URI per point) when non-empty. */
  crlUrls?: string[];
  /** AuthorityInfoAccess caIssuers when non-empty. */
  issuingCaUrls?: string[];
}

const OID = {
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
  subjectAltName: '2.5.29.17',
  cRLDistributionPoints: '2.5.29.31',
  authorityInfoAccess: '1.3.6.1.5.5.7.1.1',
  caIssuers: '1.3.6.1.5.5.7.48.2',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  ecdsaWithSHA256: '1.2.840.10045.4.3.2',
  ecdsaWithSHA384: '1.2.840.10045.4.3.3',
  sha256WithRSAEncryption: '1.2.840.113549.1.1.11',
  ed25519: '1.3.101.112',
} as const;

// Named-bit positions of RFC 5280 KeyUsage.
const KEY_USAGE_BITS: Readonly<Record<KeyUsageName, number>> = {
  digitalSignature: 0,
  keyEncipherment: 2,
  keyCertSign: 5,
  cRLSign: 6,
};

const VERSION_V3 = explicit(0, integer(2));
const EMPTY_NAME = Buffer.from([Tag.SEQUENCE, 0]);
const MAX_SERIAL_OCTETS = 20;

// GeneralName CHOICE tags (RFC 5280 4.2.1.6).
const GN_DNS_NAME = 2;
const GN_URI = 6;
const GN_IP_ADDRESS = 7;
// DistributionPoint.distributionPoint [0] and DistributionPointName.fullName [0] (RFC 5280 4.2.1.13).
const DP_DISTRIBUTION_POINT = 0;
const DPN_FULL_NAME = 0;

/**
 * One Extension (extnID, critical DEFAULT FALSE omitted when false, extnValue wrapping `valueDer`);
 * shared with the CRL builder.
 * @throws InvalidInputError when `oid` is not dotted OID text.
 */
export function encodeExtension(oid: string, critical: boolean, valueDer: Buffer): Buffer {
  return critical ? sequence([objectIdentifier(oid), boolean(true), octetString(valueDer)]) : sequence([objectIdentifier(oid), octetString(valueDer)]);
}

/**
 * A serial number as a positive INTEGER (RFC 5280 4.1.2.2); shared with the CRL builder.
 * @throws InvalidInputError when the serial is zero or longer than 20 octets once encoded.
 */
export function encodeSerialNumber(serial: Buffer): Buffer {
  const encoded = integerFromUnsigned(serial);
  if (encoded.length === 3 && encoded[2] === 0) throw new InvalidInputError('serial number must be positive, not zero');
  if (encoded.length - 2 > MAX_SERIAL_OCTETS) {
    throw new InvalidInputError(`serial number is ${encoded.length - 2} octets; RFC 5280 allows at most ${MAX_SERIAL_OCTETS}`);
  }
  return encoded;
}

/**
 * The non-critical authorityKeyIdentifier extension holding only keyIdentifier; shared with the CRL builder.
 * @throws InvalidInputError for an empty key identifier.
 */
export function encodeAuthorityKeyIdentifierExtension(keyId: Buffer): Buffer {
  if (keyId.length === 0) throw new InvalidInputError('authority key identifier is empty');
  return encodeExtension(OID.authorityKeyIdentifier, false, sequence([implicit(0, octetString(keyId))]));
}

// The few possible values of these extensions repeat on every certificate: encode each once.
const basicConstraintsCache = new Map<string, Buffer>();
const keyUsageCache = new Map<number, Buffer>();
const extKeyUsageCache = new Map<string, Buffer>();

function basicConstraintsExtension(bc: CertificateTemplate['basicConstraints']): Buffer {
  const key = `${bc.ca}/${bc.pathLen}`;
  let ext = basicConstraintsCache.get(key);
  if (ext) return ext;
  if (bc.pathLen !== undefined) {
    if (!bc.ca) throw new InvalidInputError('pathLen is only allowed when the certificate is a CA');
    if (!Number.isSafeInteger(bc.pathLen) || bc.pathLen < 0) throw new InvalidInputError(`pathLen must be a non-negative integer, got ${bc.pathLen}`);
  }
  const fields: Buffer[] = [];
  if (bc.ca) fields.push(boolean(true)); // cA DEFAULT FALSE: DER omits the default
  if (bc.pathLen !== undefined) fields.push(integer(bc.pathLen));
  ext = encodeExtension(OID.basicConstraints, true, sequence(fields));
  if (bc.pathLen === undefined || bc.pathLen < 16) basicConstraintsCache.set(key, ext);
  return ext;
}

function keyUsageExtension(usages: KeyUsageName[], ca: boolean): Buffer {
  let mask = 0;
  for (const usage of usages) {
    const bit = KEY_USAGE_BITS[usage];
    if (bit === undefined) throw new InvalidInputError(`unsupported key usage "${String(usage)}"`);
    mask |= 1 << bit;
  }
  if (mask === 0) throw new InvalidInputError('key usage must name at least one usage');
  if (mask & (1 << KEY_USAGE_BITS.keyCertSign) && !ca) {
    throw new InvalidInputError('keyCertSign requires basicConstraints cA=true (RFC 5280 4.2.1.3)');
  }
  let ext = keyUsageCache.get(mask);
  if (!ext) {
    ext = encodeExtension(OID.keyUsage, true, namedBitString(mask));
    keyUsageCache.set(mask, ext);
  }
  return ext;
}

function extKeyUsageExtension(usages: ExtKeyUsageName[]): Buffer {
  const key = usages.join(',');
  let ext = extKeyUsageCache.get(key);
  if (ext) return ext;
  if (new Set(usages).size !== usages.length) throw new InvalidInputError(`extended key usage lists a purpose twice: ${key}`);
  const oids = usages.map((usage) => {
    const oid = usage === 'serverAuth' || usage === 'clientAuth' ? OID[usage] : undefined;
    if (!oid) throw new InvalidInputError(`unsupported extended key usage "${String(usage)}"`);
    return objectIdentifier(oid);
  });
  ext = encodeExtension(OID.extKeyUsage, false, sequence(oids));
  extKeyUsageCache.set(key, ext);
  return ext;
}

function ipv4Octets(text: string): number[] {
  return text.split('.').map(Number);
}

function ipv6Octets(text: string): number[] {
  let address = text;
  const lastColon = address.lastIndexOf(':');
  const embedded = address.slice(lastColon + 1);
  if (embedded.includes('.')) {
    // "::ffff:192.0.2.1": the dotted quad is the last two 16-bit groups.
    const [a, b, c, d] = ipv4Octets(embedded);
    address = `${address.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = address.split('::');
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail === undefined ? [] : tail ? tail.split(':') : [];
  const groups = tail === undefined ? headGroups : [...headGroups, ...Array<string>(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups];
  const octets: number[] = [];
  for (const group of groups) {
    const value = parseInt(group, 16);
    octets.push(value >> 8, value & 0xff);
  }
  return octets;
}

/** The iPAddress octets: 4 for IPv4, 16 for IPv6. */
function ipAddressOctets(text: string): Buffer {
  // A zone ("fe80::1%eth0") is local to one host and has no place in a certificate.
  const family = text.includes('%') ? 0 : isIP(text);
  if (family === 4) return Buffer.from(ipv4Octets(text));
  if (family === 6) return Buffer.from(ipv6Octets(text));
  throw new InvalidInputError(`"${text}" is not an IPv4 or IPv6 address`);
}

function uriGeneralName(uri: string): Buffer {
  if (uri.length === 0) throw new InvalidInputError('URI must not be empty');
  return implicit(GN_URI, ia5String(uri));
}

/** The SubjectAltName extension DER (DNS names, then IP addresses). */
export function subjectAltNameExtension(dnsNames: string[], ipAddresses: string[], critical: boolean): Buffer {
  const names: Buffer[] = [];
  for (const dns of dnsNames) {
    if (dns.length === 0) throw new InvalidInputError('DNS name must not be empty');
    names.push(implicit(GN_DNS_NAME, ia5String(dns)));
  }
  for (const ip of ipAddresses) names.push(implicit(GN_IP_ADDRESS, octetString(ipAddressOctets(ip))));
  return encodeExtension(OID.subjectAltName, critical, sequence(names));
}

function crlDistributionPointsExtension(urls: string[]): Buffer {
  // One DistributionPoint per URL, as @peculiar/x509 builds them; the [0] tag of the
  // DistributionPointName CHOICE is necessarily explicit.
  const points = urls.map((url) => sequence([explicit(DP_DISTRIBUTION_POINT, implicit(DPN_FULL_NAME, sequence([uriGeneralName(url)])))]));
  return encodeExtension(OID.cRLDistributionPoints, false, sequence(points));
}

function authorityInfoAccessExtension(urls: string[]): Buffer {
  const descriptions = urls.map((url) => sequence([objectIdentifier(OID.caIssuers), uriGeneralName(url)]));
  return encodeExtension(OID.authorityInfoAccess, false, sequence(descriptions));
}

function checkDer(value: Buffer, field: string): void {
  const ok = Buffer.isBuffer(value) && value.length >= 2 && value[0] === Tag.SEQUENCE;
  if (!ok || readTlv(value).end !== value.length) throw new InvalidInputError(`${field} is not a single DER SEQUENCE`);
}

/**
 * TBSCertificate DER for `t`, signed with the algorithm `signatureAlgorithmDer` names. Extension
 * order is fixed: basicConstraints, keyUsage, extKeyUsage, subjectKeyIdentifier,
 * authorityKeyIdentifier, subjectAltName, cRLDistributionPoints, authorityInfoAccess.
 * @throws InvalidInputError for a zero or over-long serial, malformed name/SPKI DER, notAfter before
 * notBefore, an empty subject without SANs, a missing AKI on a certificate that is not self-issued,
 * an invalid IP address, non-ASCII DNS name or URI, or contradictory basicConstraints/keyUsage.
 */
export function encodeTbsCertificate(t: CertificateTemplate, signatureAlgorithmDer: Buffer): Buffer {
  checkDer(t.issuerDer, 'issuer name');
  checkDer(t.subjectDer, 'subject name');
  checkDer(t.spkiDer, 'subjectPublicKeyInfo');
  if (t.notAfter.getTime() < t.notBefore.getTime()) throw new InvalidInputError('notAfter is before notBefore');
  if (t.subjectKeyId.length === 0) throw new InvalidInputError('subject key identifier is empty');

  const subjectEmpty = t.subjectDer.equals(EMPTY_NAME);
  const hasSan = t.dnsNames.length > 0 || t.ipAddresses.length > 0;
  if (subjectEmpty && !hasSan) {
    throw new InvalidInputError('a certificate with an empty subject needs at least one DNS or IP subject alternative name');
  }
  if (!t.authorityKeyId && !t.issuerDer.equals(t.subjectDer)) {
    throw new InvalidInputError('authority key identifier is required unless the certificate is self-issued');
  }

  const extensions: Buffer[] = [basicConstraintsExtension(t.basicConstraints), keyUsageExtension(t.keyUsage, t.basicConstraints.ca)];
  if (t.extKeyUsage.length > 0) extensions.push(extKeyUsageExtension(t.extKeyUsage));
  extensions.push(encodeExtension(OID.subjectKeyIdentifier, false, octetString(t.subjectKeyId)));
  if (t.authorityKeyId) extensions.push(encodeAuthorityKeyIdentifierExtension(t.authorityKeyId));
  // RFC 5280 4.2.1.6: with an empty subject the identity lives in the SAN alone, so it must be critical.
  if (hasSan) extensions.push(subjectAltNameExtension(t.dnsNames, t.ipAddresses, subjectEmpty));
  if (t.crlUrls?.length) extensions.push(crlDistributionPointsExtension(t.crlUrls));
  if (t.issuingCaUrls?.length) extensions.push(authorityInfoAccessExtension(t.issuingCaUrls));

  return sequence([
    VERSION_V3,
    encodeSerialNumber(t.serial),
    signatureAlgorithmDer,
    t.issuerDer,
    sequence([time(t.notBefore), time(t.notAfter)]),
    t.subjectDer,
    t.spkiDer,
    explicit(3, sequence(extensions)),
  ]);
}

/** Signs DER with a CA key: the AlgorithmIdentifier it signs with, and a synchronous sign. */
export interface DerSigner {
  /** AlgorithmIdentifier DER, used both inside the TBS and beside the signature. */
  algorithmIdentifierDer: Buffer;
  /** The signature value over `data` (DER Ecdsa-Sig-Value for ECDSA). */
  sign(data: Buffer): Buffer;
}

/**
 * A signer for the CA private key: EC P-256 → ecdsa-with-SHA256, P-384 → ecdsa-with-SHA384
 * (no parameters, RFC 5758), RSA → sha256WithRSAEncryption (NULL parameters, PKCS#1 v1.5),
 * Ed25519 → id-Ed25519 (no parameters). Signing uses synchronous crypto.sign.
 * @throws InvalidInputError when the key is not a private key; NotSupportedError for any other key type or curve.
 */
export function createDerSigner(caPrivateKey: KeyObject): DerSigner {
  if (caPrivateKey.type !== 'private') throw new InvalidInputError('the CA key must be a private key');
  const kind = caPrivateKey.asymmetricKeyType;
  if (kind === 'ec') {
    const curve = caPrivateKey.asymmetricKeyDetails?.namedCurve;
    const choice =
      curve === 'prime256v1' ? { oid: OID.ecdsaWithSHA256, hash: 'sha256' } : curve === 'secp384r1' ? { oid: OID.ecdsaWithSHA384, hash: 'sha384' } : undefined;
    if (!choice) throw new NotSupportedError(`CA keys on curve ${curve ?? 'unknown'} are not supported; use P-256 or P-384`);
    const options = { key: caPrivateKey, dsaEncoding: 'der' as const };
    return {
      algorithmIdentifierDer: sequence([objectIdentifier(choice.oid)]),
      sign: (data) => sign(choice.hash, data, options),
    };
  }
  if (kind === 'rsa') {
    const options = { key: caPrivateKey, padding: constants.RSA_PKCS1_PADDING };
    return {
      algorithmIdentifierDer: sequence([objectIdentifier(OID.sha256WithRSAEncryption), NULL_DER]),
      sign: (data) => sign('sha256', data, options),
    };
  }
  if (kind === 'ed25519') {
    return {
      algorithmIdentifierDer: sequence([objectIdentifier(OID.ed25519)]),
      sign: (data) => sign(null, data, caPrivateKey),
    };
  }
  throw new NotSupportedError(`${kind ?? 'unknown'} CA keys are not supported; use EC P-256/P-384, RSA or Ed25519`);
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

/**
 * The signed certificate DER: TBSCertificate, signature algorithm, signature.
 * @throws what {@link encodeTbsCertificate} throws, and whatever the signer throws.
 */
export function buildCertificateDer(t: CertificateTemplate, signer: DerSigner): Buffer {
  const tbs = encodeTbsCertificate(t, signer.algorithmIdentifierDer);
  return sequence([tbs, signer.algorithmIdentifierDer, bitString(signer.sign(tbs))]);
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

/** PEM armour: 64-column base64 lines between BEGIN/END lines, ending in a newline. */
export function toPem(der: Buffer, label: 'CERTIFICATE' | 'X509 CRL' | 'CERTIFICATE REQUEST'): string {
  const base64 = der.toString('base64');
  let body = '';
  for (let i = 0; i < base64.length; i += 64) body += `${base64.slice(i, i + 64)}\n`;
  return `-----BEGIN ${label}-----\n${body}-----END ${label}-----\n`;
}
