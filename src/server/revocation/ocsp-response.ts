import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  BasicOCSPResponse,
  CertID,
  CertStatus,
  OCSPResponse,
  OCSPResponseStatus,
  ResponderID,
  ResponseBytes,
  ResponseData,
  RevokedInfo,
  SingleResponse,
  id_pkix_ocsp_basic,
  id_pkix_ocsp_nonce,
} from '@peculiar/asn1-ocsp';
import { AlgorithmIdentifier, CRLReason, Certificate, Extension, Name } from '@peculiar/asn1-x509';
import type { RevocationReason } from '../../core/types';
import { REASON_CODES } from '../../core/x509/crl-builder';
import type { DerSigner } from '../../core/x509/signing';

/** Who signs the answers of one CA: the CA itself, or its delegated responder certificate. */
export interface ResponderIdentity {
  /** The signing certificate's subject Name DER (ResponderID byName). */
  subjectDer: Buffer;
  signer: DerSigner;
  /** The delegated responder certificate, DER, sent with every answer (RFC 6960 4.2.2.2); absent when the CA signs. */
  certificateDer?: Buffer;
  /** No answer may outlive the certificate that signs it. */
  notAfter: Date;
}

/** What the inventory says of one certificate. */
export type CertState = { status: 'good' } | { status: 'revoked'; at: Date; reason?: RevocationReason } | { status: 'unknown' };

/**
 * One SingleResponse (RFC 6960 4.2.1): the CertID as the client sent it, the status, and the
 * validity. Dates are whole seconds (GeneralizedTime without fractions, RFC 5280 4.1.2.5.2).
 */
export function singleResponse(certIdDer: Buffer, state: CertState, thisUpdate: Date, nextUpdate: Date): SingleResponse {
  return new SingleResponse({
    certID: AsnConvert.parse(certIdDer, CertID),
    certStatus: certStatus(state),
    thisUpdate: wholeSeconds(thisUpdate),
    nextUpdate: wholeSeconds(nextUpdate),
  });
}

function certStatus(state: CertState): CertStatus {
  if (state.status === 'good') return new CertStatus({ good: null });
  if (state.status === 'unknown') return new CertStatus({ unknown: null });
  // As on the CRL (crl-builder.ts): no reason code for 'unspecified' (RFC 5280 5.3.1).
  const code = state.reason === undefined ? 0 : REASON_CODES[state.reason];
  return new CertStatus({
    revoked: new RevokedInfo({ revocationTime: wholeSeconds(state.at), ...(code !== 0 ? { revocationReason: new CRLReason(code) } : {}) }),
  });
}

/**
 * A signed, successful OCSPResponse DER (RFC 6960 4.2.1) holding `singles`, with the nonce
 * extension echoed when the request had one.
 * @throws what the signer throws.
 */
export function signedResponse(identity: ResponderIdentity, singles: SingleResponse[], producedAt: Date, nonce?: Buffer): Buffer {
  const data = new ResponseData({
    responderID: new ResponderID({ byName: AsnConvert.parse(identity.subjectDer, Name) }),
    producedAt: wholeSeconds(producedAt),
    responses: singles,
    ...(nonce ? { responseExtensions: [new Extension({ extnID: id_pkix_ocsp_nonce, critical: false, extnValue: new OctetString(nonce) })] } : {}),
  });
  const tbs = Buffer.from(AsnConvert.serialize(data));
  const basic = new BasicOCSPResponse({
    tbsResponseData: data,
    signatureAlgorithm: AsnConvert.parse(identity.signer.algorithmIdentifierDer, AlgorithmIdentifier),
    signature: bufferOf(identity.signer.sign(tbs)),
    ...(identity.certificateDer ? { certs: [AsnConvert.parse(identity.certificateDer, Certificate)] } : {}),
  });
  const response = new OCSPResponse({
    responseStatus: OCSPResponseStatus.successful,
    responseBytes: new ResponseBytes({ responseType: id_pkix_ocsp_basic, response: new OctetString(AsnConvert.serialize(basic)) }),
  });
  return Buffer.from(AsnConvert.serialize(response));
}

const STATUS_RESPONSES = new Map<OCSPResponseStatus, Buffer>();

/** An unsuccessful OCSPResponse (no responseBytes, unsigned, RFC 6960 2.3): malformedRequest, internalError, unauthorized…; encoded once. */
export function statusResponse(status: OCSPResponseStatus): Buffer {
  let der = STATUS_RESPONSES.get(status);
  if (!der) {
    der = Buffer.from(AsnConvert.serialize(new OCSPResponse({ responseStatus: status })));
    STATUS_RESPONSES.set(status, der);
  }
  return der;
}

function wholeSeconds(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}

function bufferOf(b: Buffer): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}
