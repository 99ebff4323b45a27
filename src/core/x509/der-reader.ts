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
