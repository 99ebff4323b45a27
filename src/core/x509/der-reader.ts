import { InvalidInputError } from '../errors';
import { readTlv as readTlvHeader, type TlvPosition } from './der';

/** One DER element: its tag and where its header and contents sit in the buffer. */
export interface Tlv extends TlvPosition {
  start: number;
}

/**
 * Reads the DER element at `offset`, keeping where its header starts.
 * @throws InvalidInputError on truncated or non-DER input.
 */
export function readTlv(buf: Buffer, offset: number): Tlv {
  return { start: offset, ...readTlvHeader(buf, offset) };
}

/** The children of a constructed element. */
export function children(buf: Buffer, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let p = parent.contentStart; p < parent.end; ) {
    const t = readTlv(buf, p);
    out.push(t);
    p = t.end;
  }
  return out;
}

const SKI_OID = Buffer.from('0603551d0e', 'hex');

/** The parts of a certificate the signer needs from its CA certificate. */
export interface CertificateParts {
  subjectDer: Buffer;
  issuerDer: Buffer;
  spkiDer: Buffer;
  /** The SubjectKeyIdentifier extension value, if present. */
  subjectKeyId?: Buffer;
}

/**
 * Extracts subject, issuer, SPKI and SKI from a certificate's DER.
 * @throws InvalidInputError when the DER is not a certificate.
 */
export function certificateParts(der: Buffer): CertificateParts {
  const cert = readTlv(der, 0);
  const tbs = readTlv(der, cert.contentStart);
  const fields = children(der, tbs);
  const hasVersion = fields[0]?.tag === 0xa0;
  const at = (i: number) => fields[i + (hasVersion ? 1 : 0)];
  const [issuer, subject, spki] = [at(2), at(4), at(5)];
  if (!issuer || !subject || !spki) throw new InvalidInputError('not an X.509 certificate');
  let subjectKeyId: Buffer | undefined;
  const extsWrapper = fields.find((f) => f.tag === 0xa3);
  if (extsWrapper) {
    const exts = readTlv(der, extsWrapper.contentStart);
    for (const ext of children(der, exts)) {
      const parts = children(der, ext);
      if (der.subarray(parts[0].start, parts[0].end).equals(SKI_OID)) {
        const octets = parts[parts.length - 1];
        const inner = readTlv(der, octets.contentStart);
        subjectKeyId = Buffer.from(der.subarray(inner.contentStart, inner.end));
      }
    }
  }
  const slice = (t: Tlv) => Buffer.from(der.subarray(t.start, t.end));
  return { subjectDer: slice(subject), issuerDer: slice(issuer), spkiDer: slice(spki), subjectKeyId };
}

/** DER bytes of every PEM block with the given label. */
export function pemBlocks(pem: string, label: string): Buffer[] {
  const re = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]+?)-----END ${label}-----`, 'g');
  return [...pem.matchAll(re)].map((m) => Buffer.from(m[1].replace(/\s+/g, ''), 'base64'));
}

/** Serial and validity of a certificate, as certctl records them. */
export interface CertificateFacts {
  /** Canonical serial: upper-case hex of the positive integer, even length. */
  serial: string;
  notBefore: Date;
  notAfter: Date;
}

/**
 * Reads serial, notBefore and notAfter straight from a certificate's DER — what certctl records
 * for a certificate a remote CA signed — without a full X.509 parse (which costs ~0.2 ms each).
 * @throws InvalidInputError when the DER is not a certificate.
 */
export function certificateFacts(der: Buffer): CertificateFacts {
  const cert = readTlv(der, 0);
  const tbs = readTlv(der, cert.contentStart);
  const fields = children(der, tbs);
  const at = (i: number) => fields[i + (fields[0]?.tag === 0xa0 ? 1 : 0)];
  const [serial, validity] = [at(0), at(3)];
  if (!serial || serial.tag !== 0x02 || !validity || validity.tag !== 0x30) throw new InvalidInputError('not an X.509 certificate');
  let hex = der.subarray(serial.contentStart, serial.end).toString('hex').replace(/^(00)+(?=..)/, '').toUpperCase();
  if (hex.length % 2) hex = `0${hex}`;
  const [nb, na] = children(der, validity).map((t) => derTime(der.subarray(t.contentStart, t.end).toString('latin1'), t.tag));
  return { serial: hex, notBefore: nb, notAfter: na };
}

/** UTCTime (YYMMDDHHMMSSZ, years 1950–2049) or GeneralizedTime (YYYYMMDDHHMMSSZ), as RFC 5280 4.1.2.5 fixes them. */
function derTime(text: string, tag: number): Date {
  const m = /^(\d{2}|\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!m || (tag === 0x17) !== (m[1].length === 2)) throw new InvalidInputError(`not an RFC 5280 time: ${text}`);
  const year = m[1].length === 2 ? (Number(m[1]) < 50 ? 2000 : 1900) + Number(m[1]) : Number(m[1]);
  return new Date(Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
}
