import { AsnConvert } from '@peculiar/asn1-schema';
import { CertID, OCSPRequest, id_pkix_ocsp_nonce } from '@peculiar/asn1-ocsp';
import { InvalidInputError } from '../../core/errors';
import { readTlv } from '../../core/x509/der-reader';

/** One certificate a request asks about. */
export interface CertIdRequest {
  /** The CertID's DER: echoed in the answer, and the key of the answer cache. */
  der: Buffer;
  /** The dotted OID of the hash the client used for the issuer's name and key. */
  hashAlgorithm: string;
  issuerNameHash: Buffer;
  issuerKeyHash: Buffer;
  /** certctl's canonical serial (upper-case hex, even length), or undefined for a negative or zero serial (never ours). */
  serial: string | undefined;
}

/** What an OCSP request asks: the certificates, and the nonce to echo. */
export interface ParsedOcspRequest {
  certIds: CertIdRequest[];
  /** The nonce extension's extnValue, echoed as is (RFC 8954). */
  nonce?: Buffer;
}

/** More certificates than this in one request is refused as malformed: each costs a store read and a signed entry. */
export const MAX_CERT_IDS = 16;
/** RFC 8954: a nonce of 1 to 32 octets; its extnValue holds it as an OCTET STRING (2 octets of header). */
const MAX_NONCE_VALUE = 34;

/**
 * The CertID DER of the commonest request — one certificate, no extensions, no signature, no
 * requestor name (what nginx, RFC 5019 clients and `openssl ocsp -no_nonce` send) — or undefined
 * for any other shape, which then goes through {@link parseOcspRequest}. This is the cached hot
 * path, so it is read by hand: measured on one core, @peculiar/asn1-schema's AsnConvert.parse
 * takes ~36 µs per request, this ~0.1 µs; at the 10,000 answers/s target the codec alone would
 * cost a third of a core. Only the framing is read here: an unknown CertID misses the cache and
 * is checked in full.
 */
export function quickCertId(der: Buffer): Buffer | undefined {
  try {
    const request = readTlv(der, 0);
    if (request.tag !== 0x30 || request.end !== der.length) return undefined;
    const tbs = readTlv(der, request.contentStart);
    if (tbs.tag !== 0x30 || tbs.end !== request.end) return undefined;
    const list = readTlv(der, tbs.contentStart);
    if (list.tag !== 0x30 || list.end !== tbs.end) return undefined;
    const one = readTlv(der, list.contentStart);
    if (one.tag !== 0x30 || one.end !== list.end) return undefined;
    const certId = readTlv(der, one.contentStart);
    if (certId.tag !== 0x30 || certId.end !== one.end) return undefined;
    return der.subarray(certId.start, certId.end);
  } catch {
    return undefined;
  }
}

/**
 * Parses an OCSP request (RFC 6960 4.1.1) with @peculiar/asn1-ocsp. The optional signature is not
 * checked: this responder answers anyone (sigRequired is never sent).
 * @throws InvalidInputError when it is not a DER OCSPRequest, asks about no certificate or more
 *   than {@link MAX_CERT_IDS}, or carries a nonce over 32 octets.
 */
export function parseOcspRequest(der: Buffer): ParsedOcspRequest {
  let request: OCSPRequest;
  try {
    request = AsnConvert.parse(der, OCSPRequest);
  } catch (err) {
    throw new InvalidInputError('the body is not a DER OCSPRequest (RFC 6960 4.1.1)', { cause: err });
  }
  const list = request.tbsRequest.requestList;
  if (list.length === 0 || list.length > MAX_CERT_IDS) {
    throw new InvalidInputError(`an OCSP request must ask about 1 to ${MAX_CERT_IDS} certificates, not ${list.length}`);
  }
  const nonce = request.tbsRequest.requestExtensions?.find((e) => e.extnID === id_pkix_ocsp_nonce);
  if (nonce && (nonce.extnValue.byteLength === 0 || nonce.extnValue.byteLength > MAX_NONCE_VALUE)) {
    throw new InvalidInputError('the OCSP nonce must be 1 to 32 octets (RFC 8954)');
  }
  return {
    certIds: list.map((r) => certIdParts(r.reqCert)),
    ...(nonce ? { nonce: Buffer.from(nonce.extnValue.buffer) } : {}),
  };
}

/**
 * The parts of a CertID, from its DER (a cache miss of {@link quickCertId}) or from a parsed request.
 * @throws InvalidInputError when the DER is not a CertID.
 */
export function certIdParts(source: Buffer | CertID): CertIdRequest {
  let certId: CertID;
  let der: Buffer;
  try {
    certId = Buffer.isBuffer(source) ? AsnConvert.parse(source, CertID) : source;
    der = Buffer.isBuffer(source) ? source : Buffer.from(AsnConvert.serialize(certId));
  } catch (err) {
    throw new InvalidInputError('the OCSP request holds a malformed CertID', { cause: err });
  }
  return {
    der,
    hashAlgorithm: certId.hashAlgorithm.algorithm,
    issuerNameHash: Buffer.from(certId.issuerNameHash.buffer),
    issuerKeyHash: Buffer.from(certId.issuerKeyHash.buffer),
    serial: canonicalSerial(Buffer.from(certId.serialNumber)),
  };
}

/** An INTEGER's content octets as certctl's serial text; undefined for zero or a negative number. */
function canonicalSerial(octets: Buffer): string | undefined {
  if (octets.length === 0 || octets[0] & 0x80) return undefined;
  let i = 0;
  while (i < octets.length - 1 && octets[i] === 0) i++;
  const hex = octets.subarray(i).toString('hex').toUpperCase();
  return /^0*$/.test(hex) ? undefined : hex;
}
