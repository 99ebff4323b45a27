/**
 * certctl's one DER reader: walks TLVs by hand to pick the few fields the signer needs out of its
 * own CA certificate and to check the shape of DER handed to the builders. See der.ts for why by
 * hand; a CSR to sign and a remote signer's certificate are parsed and checked with
 * @peculiar/x509 and node:crypto instead (core/csr.ts, x509/signed-check.ts).
 * Single-octet tags and definite lengths only: all that DER certificates use.
 */
import { InvalidInputError } from '../errors';

/** One DER element: its tag and where its header and contents sit in the buffer. */
export interface Tlv {
  tag: number;
  /** Offset of the tag octet. */
  start: number;
  /** Offset of the first content octet. */
  contentStart: number;
  /** Offset just past the last content octet (= start of the next TLV). */
  end: number;
}

/**
 * Reads the header of the DER element at `offset`.
 * @throws InvalidInputError when the header is malformed, uses a multi-octet tag, or the element runs past the buffer.
 */
export function readTlv(buf: Uint8Array, offset = 0): Tlv {
  if (offset + 2 > buf.length) throw new InvalidInputError('truncated DER');
  const tag = buf[offset];
  if ((tag & 0x1f) === 0x1f) throw new InvalidInputError('unsupported multi-octet DER tag');
  let length = buf[offset + 1];
  let contentStart = offset + 2;
  if (length & 0x80) {
    const octets = length & 0x7f;
    if (octets === 0 || octets > 4 || contentStart + octets > buf.length) throw new InvalidInputError('malformed DER length');
    length = 0;
    for (let i = 0; i < octets; i++) length = length * 256 + buf[contentStart + i];
    contentStart += octets;
  }
  const end = contentStart + length;
  if (end > buf.length) throw new InvalidInputError('truncated DER');
  return { tag, start: offset, contentStart, end };
}

/**
 * Whether `der` is exactly one DER SEQUENCE (a Name, an SPKI…), nothing before or after it.
 * @throws InvalidInputError when its header is malformed.
 */
export function isSingleSequence(der: Uint8Array): boolean {
  return der.length >= 2 && der[0] === 0x30 && readTlv(der).end === der.length;
}

/** The children of a constructed element; throws what {@link readTlv} throws. */
export function children(buf: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let p = parent.contentStart; p < parent.end;) {
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
