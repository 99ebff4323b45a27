/**
 * PEM armour (RFC 7468): the one writer and the one reader of PEM in certctl, for
 * certificates, CRLs, CSRs and PKCS#8 keys alike.
 */

/** The PEM labels certctl writes and reads. */
export type PemLabel = 'CERTIFICATE' | 'X509 CRL' | 'CERTIFICATE REQUEST' | 'PRIVATE KEY';

/** PEM armour: 64-column base64 lines between BEGIN/END lines, ending in a newline. */
export function toPem(der: Buffer, label: PemLabel): string {
  const base64 = der.toString('base64');
  let body = '';
  for (let i = 0; i < base64.length; i += 64) body += `${base64.slice(i, i + 64)}\n`;
  return `-----BEGIN ${label}-----\n${body}-----END ${label}-----\n`;
}

/** DER bytes of every PEM block with the given label, in order; text around the blocks is ignored. */
export function pemBlocks(pem: string, label: PemLabel): Buffer[] {
  const re = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]+?)-----END ${label}-----`, 'g');
  return [...pem.matchAll(re)].map((m) => Buffer.from(m[1].replace(/\s+/g, ''), 'base64'));
}
