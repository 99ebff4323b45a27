import { AcmeError } from './problems';
import type { AcmeContext } from './context';
import type { RenewalOverride } from './records';
import { parseSerial } from '../core/serial';
import { peculiarX509 } from '../core/x509/peculiar';
import { pemBlocks } from '../core/x509/pem';
import type { CertificateRecord } from '../core/types';

/** How often clients should ask again (RFC 9773 Retry-After), seconds. */
export const RENEWAL_INFO_RETRY_AFTER = 6 * 3600;

/**
 * Reads an RFC 9773 certID — base64url(AuthorityKeyIdentifier keyIdentifier) "." base64url(serial
 * DER value) — and finds the certificate in the CA's inventory, whose AKI must match.
 * @throws AcmeError malformed for a bad certID, 404 for a certificate this CA does not have.
 */
export async function parseCertId(acme: AcmeContext, ca: string, certId: string): Promise<{ serial: string; record: CertificateRecord; certPem: string }> {
  const m = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/.exec(certId);
  if (!m) throw new AcmeError('malformed', 'a certID is base64url(AKI keyIdentifier) "." base64url(serial)');
  const aki = Buffer.from(m[1], 'base64url');
  const serialBytes = Buffer.from(m[2], 'base64url');
  if (serialBytes.length === 0 || serialBytes.length > 21) throw new AcmeError('malformed', 'the certID serial is empty or too long');
  const serial = parseSerial(serialBytes.toString('hex'));
  const found = await acme.server.services.store(ca).get(ca, serial);
  if (!found) throw new AcmeError('malformed', `no certificate ${serial} in CA "${ca}"`, { status: 404 });
  const x509 = peculiarX509();
  const cert = new x509.X509Certificate(pemBlocks(found.certPem, 'CERTIFICATE')[0]);
  const ext = cert.getExtension(x509.AuthorityKeyIdentifierExtension);
  if (!ext?.keyId || Buffer.from(ext.keyId, 'hex').compare(aki) !== 0)
    throw new AcmeError('malformed', `the certID's key identifier is not that of certificate ${serial}'s issuer`);
  return { serial, record: found.record, certPem: found.certPem };
}

/** The certID of a certificate (what `replaces` and renewalInfo take), from its PEM. */
export function certIdOf(certPem: string): string {
  const x509 = peculiarX509();
  const cert = new x509.X509Certificate(pemBlocks(certPem, 'CERTIFICATE')[0]);
  const aki = cert.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId ?? '';
  let serial = cert.serialNumber.toLowerCase();
  if (serial.length % 2) serial = `0${serial}`;
  if (parseInt(serial.slice(0, 2), 16) >= 0x80) serial = `00${serial}`;
  return `${Buffer.from(aki, 'hex').toString('base64url')}.${Buffer.from(serial, 'hex').toString('base64url')}`;
}

/**
 * The suggested renewal window (RFC 9773 §4.2): by default the middle of the last third of the
 * certificate's life (start at two thirds, end at five sixths), so clients renew well before
 * expiry and spread out; an operator's override (`certctl acme renew-early`) or a revocation
 * moves it to now, so clients renew at their next check.
 */
export function renewalWindow(
  record: CertificateRecord,
  override: RenewalOverride | undefined,
  now = new Date(),
): { start: string; end: string; explanationURL?: string } {
  if (override) return override;
  if (record.status === 'revoked') {
    return { start: new Date(now.getTime() - 3600_000).toISOString(), end: new Date(now.getTime() - 60_000).toISOString() };
  }
  const from = Date.parse(record.notBefore);
  const life = Date.parse(record.notAfter) - from;
  return { start: new Date(from + (life * 2) / 3).toISOString(), end: new Date(from + (life * 5) / 6).toISOString() };
}
