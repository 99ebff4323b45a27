/**
 * Builds the X.509 v3 certificates certctl issues (DESIGN.md "Certificates certctl
 * issues") as DER, by hand, from one fixed shape, and signs them with a DerSigner
 * (signing.ts). See der.ts for why this is not left to @peculiar/x509; the tests
 * prove the TBSCertificate byte-identical to what X509CertificateGenerator builds
 * from the same inputs.
 */
import { InvalidInputError } from '../errors';
import { bitString, boolean, explicit, implicit, integer, namedBitString, NULL_DER, objectIdentifier, octetString, sequence, Tag, time } from './der';
import { isSingleSequence } from './der-reader';
import { encodeAuthorityKeyIdentifierExtension, encodeExtension, encodeSerialNumber, subjectAltNameExtension, uriGeneralName } from './fields';
import { nameConstraintsExtension, type NameConstraints } from './name-constraints';
import type { DerSigner } from './signing';

/** KeyUsage bits certctl sets (contentCommitment is X.509's former nonRepudiation). */
export type KeyUsageName = 'digitalSignature' | 'contentCommitment' | 'keyEncipherment' | 'dataEncipherment' | 'keyAgreement' | 'keyCertSign' | 'cRLSign';
/** ExtendedKeyUsage purposes certctl sets: a named one, or any other as its dotted OID (custom profiles). */
export type ExtKeyUsageName =
  'serverAuth' | 'clientAuth' | 'codeSigning' | 'emailProtection' | 'OCSPSigning' | 'timeStamping' | `${number}.${number}.${string}`;

/** The OID of each named extended key usage (RFC 5280 4.2.1.12). */
export const EXT_KEY_USAGE_OIDS: Readonly<Record<string, string>> = {
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  codeSigning: '1.3.6.1.5.5.7.3.3',
  emailProtection: '1.3.6.1.5.5.7.3.4',
  timeStamping: '1.3.6.1.5.5.7.3.8',
  OCSPSigning: '1.3.6.1.5.5.7.3.9',
};

/** The OID an extended key usage stands for: its name's, or itself when it is a dotted OID. */
export function extKeyUsageOid(usage: ExtKeyUsageName): string | undefined {
  return Object.prototype.hasOwnProperty.call(EXT_KEY_USAGE_OIDS, usage) ? EXT_KEY_USAGE_OIDS[usage] : /^[0-2](\.\d+)+$/.test(usage) ? usage : undefined;
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
  /** URI and email SANs, after the DNS names and IP addresses. */
  uris?: string[];
  emails?: string[];
  /** CRLDistributionPoints (one fullName URI per point) when non-empty. */
  crlUrls?: string[];
  /** AuthorityInfoAccess caIssuers when non-empty. */
  issuingCaUrls?: string[];
  /** AuthorityInfoAccess ocsp (the responder's URL), before caIssuers, when non-empty. */
  ocspUrls?: string[];
  /** id-pkix-ocsp-nocheck, non-critical (RFC 6960 4.2.2.2.1), last: a delegated OCSP responder's certificate. */
  ocspNoCheck?: boolean;
  /** A critical NameConstraints extension (CA certificates only), when given. */
  nameConstraints?: NameConstraints;
}

const OID = {
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectKeyIdentifier: '2.5.29.14',
  cRLDistributionPoints: '2.5.29.31',
  authorityInfoAccess: '1.3.6.1.5.5.7.1.1',
  caIssuers: '1.3.6.1.5.5.7.48.2',
  ocsp: '1.3.6.1.5.5.7.48.1',
  ocspNoCheck: '1.3.6.1.5.5.7.48.1.5',
} as const;

// Named-bit positions of RFC 5280 KeyUsage.
const KEY_USAGE_BITS: Readonly<Record<KeyUsageName, number>> = {
  digitalSignature: 0,
  contentCommitment: 1,
  keyEncipherment: 2,
  dataEncipherment: 3,
  keyAgreement: 4,
  keyCertSign: 5,
  cRLSign: 6,
};

const VERSION_V3 = explicit(0, integer(2));
const EMPTY_NAME = Buffer.from([Tag.SEQUENCE, 0]);

// DistributionPoint.distributionPoint [0] and DistributionPointName.fullName [0] (RFC 5280 4.2.1.13).
const DP_DISTRIBUTION_POINT = 0;
const DPN_FULL_NAME = 0;

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
    const oid = extKeyUsageOid(usage);
    if (!oid) throw new InvalidInputError(`unsupported extended key usage "${String(usage)}"`);
    return objectIdentifier(oid);
  });
  ext = encodeExtension(OID.extKeyUsage, false, sequence(oids));
  extKeyUsageCache.set(key, ext);
  return ext;
}

function crlDistributionPointsExtension(urls: string[]): Buffer {
  // One DistributionPoint per URL, as @peculiar/x509 builds them; the [0] tag of the
  // DistributionPointName CHOICE is necessarily explicit.
  const points = urls.map((url) => sequence([explicit(DP_DISTRIBUTION_POINT, implicit(DPN_FULL_NAME, sequence([uriGeneralName(url)])))]));
  return encodeExtension(OID.cRLDistributionPoints, false, sequence(points));
}

function authorityInfoAccessExtension(ocspUrls: string[], caIssuerUrls: string[]): Buffer {
  const descriptions = [
    ...ocspUrls.map((url) => sequence([objectIdentifier(OID.ocsp), uriGeneralName(url)])),
    ...caIssuerUrls.map((url) => sequence([objectIdentifier(OID.caIssuers), uriGeneralName(url)])),
  ];
  return encodeExtension(OID.authorityInfoAccess, false, sequence(descriptions));
}

// The extnValue of id-pkix-ocsp-nocheck is NULL (RFC 6960 4.2.2.2.1).
const OCSP_NOCHECK_EXTENSION = encodeExtension(OID.ocspNoCheck, false, NULL_DER);

function checkDer(value: Buffer, field: string): void {
  if (!Buffer.isBuffer(value) || !isSingleSequence(value)) throw new InvalidInputError(`${field} is not a single DER SEQUENCE`);
}

/**
 * TBSCertificate DER for `t`, signed with the algorithm `signatureAlgorithmDer` names. Extension
 * order is fixed: basicConstraints, keyUsage, extKeyUsage, subjectKeyIdentifier,
 * authorityKeyIdentifier, subjectAltName, nameConstraints, cRLDistributionPoints, authorityInfoAccess, ocspNoCheck.
 * @throws InvalidInputError for a zero or over-long serial, malformed name/SPKI DER, notAfter before
 * notBefore, an empty subject without SANs, a missing AKI on a certificate that is not self-issued,
 * an invalid IP address, non-ASCII DNS name or URI, contradictory basicConstraints/keyUsage, or name
 * constraints on a certificate that is not a CA.
 */
export function encodeTbsCertificate(t: CertificateTemplate, signatureAlgorithmDer: Buffer): Buffer {
  checkDer(t.issuerDer, 'issuer name');
  checkDer(t.subjectDer, 'subject name');
  checkDer(t.spkiDer, 'subjectPublicKeyInfo');
  if (t.notAfter.getTime() < t.notBefore.getTime()) throw new InvalidInputError('notAfter is before notBefore');
  if (t.subjectKeyId.length === 0) throw new InvalidInputError('subject key identifier is empty');

  const subjectEmpty = t.subjectDer.equals(EMPTY_NAME);
  const hasSan = t.dnsNames.length > 0 || t.ipAddresses.length > 0 || !!t.uris?.length || !!t.emails?.length;
  if (subjectEmpty && !hasSan) {
    throw new InvalidInputError('a certificate with an empty subject needs at least one subject alternative name');
  }
  if (!t.authorityKeyId && !t.issuerDer.equals(t.subjectDer)) {
    throw new InvalidInputError('authority key identifier is required unless the certificate is self-issued');
  }

  const extensions: Buffer[] = [basicConstraintsExtension(t.basicConstraints), keyUsageExtension(t.keyUsage, t.basicConstraints.ca)];
  if (t.extKeyUsage.length > 0) extensions.push(extKeyUsageExtension(t.extKeyUsage));
  extensions.push(encodeExtension(OID.subjectKeyIdentifier, false, octetString(t.subjectKeyId)));
  if (t.authorityKeyId) extensions.push(encodeAuthorityKeyIdentifierExtension(t.authorityKeyId));
  // RFC 5280 4.2.1.6: with an empty subject the identity lives in the SAN alone, so it must be critical.
  if (hasSan) extensions.push(subjectAltNameExtension(t.dnsNames, t.ipAddresses, subjectEmpty, t.uris, t.emails));
  if (t.nameConstraints) {
    if (!t.basicConstraints.ca) throw new InvalidInputError('NameConstraints is only allowed in a CA certificate (RFC 5280 4.2.1.10)');
    extensions.push(nameConstraintsExtension(t.nameConstraints));
  }
  if (t.crlUrls?.length) extensions.push(crlDistributionPointsExtension(t.crlUrls));
  if (t.issuingCaUrls?.length || t.ocspUrls?.length) extensions.push(authorityInfoAccessExtension(t.ocspUrls ?? [], t.issuingCaUrls ?? []));
  if (t.ocspNoCheck) extensions.push(OCSP_NOCHECK_EXTENSION);

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

/**
 * The signed certificate DER: TBSCertificate, signature algorithm, signature.
 * @throws what {@link encodeTbsCertificate} throws, and whatever the signer throws.
 */
export function buildCertificateDer(t: CertificateTemplate, signer: DerSigner): Buffer {
  const tbs = encodeTbsCertificate(t, signer.algorithmIdentifierDer);
  return sequence([tbs, signer.algorithmIdentifierDer, bitString(signer.sign(tbs))]);
}
