import type { CertificateRecord } from './types';

/** Certificates of an expiry window, as `check --expiring` and `renew --expiring` see them. */
export interface ExpiryReport {
  /** Valid, not revoked, not yet expired, notAfter within the window, not already renewed; soonest first. */
  expiring: CertificateRecord[];
  /** Certificates of the window already replaced by a later certificate with the same names (`by`: its serial). */
  renewed: { record: CertificateRecord; by: string }[];
}

/** The names that make two certificates stand for the same thing: profile, CN and the SAN sets. */
function identity(r: CertificateRecord): string {
  const sorted = (xs: string[]) => [...xs].map((x) => x.toLowerCase()).sort();
  return JSON.stringify([r.profile, r.commonName.toLowerCase(), sorted(r.dnsNames), sorted(r.ipAddresses)]);
}

/**
 * Picks the certificates that expire within `windowSeconds` of `now` (optionally of one profile).
 * A renewal leaves the old certificate valid until it is revoked, so a certificate with a valid
 * successor (same profile and names, later notAfter) counts as renewed, not expiring: running
 * `renew --expiring` twice renews nothing twice, and `check` stops reporting once renewed.
 * Already expired certificates are left out: they are `list --expiring`'s to show.
 */
export function expiryReport(records: CertificateRecord[], windowSeconds: number, now: Date, profile?: string): ExpiryReport {
  const start = now.getTime();
  const end = start + windowSeconds * 1000;
  const latest = new Map<string, CertificateRecord>();
  for (const r of records) {
    if (r.status !== 'valid' || Date.parse(r.notAfter) <= start) continue;
    const key = identity(r);
    const seen = latest.get(key);
    if (!seen || Date.parse(r.notAfter) > Date.parse(seen.notAfter)) latest.set(key, r);
  }
  const report: ExpiryReport = { expiring: [], renewed: [] };
  for (const r of records) {
    const notAfter = Date.parse(r.notAfter);
    if (r.status !== 'valid' || notAfter <= start || notAfter > end || (profile !== undefined && r.profile !== profile)) continue;
    const newest = latest.get(identity(r)) as CertificateRecord;
    if (newest.serial !== r.serial && Date.parse(newest.notAfter) > notAfter) report.renewed.push({ record: r, by: newest.serial });
    else report.expiring.push(r);
  }
  report.expiring.sort((a, b) => Date.parse(a.notAfter) - Date.parse(b.notAfter) || a.serial.localeCompare(b.serial));
  return report;
}

/** Whole days from `now` until `notAfter`, rounded down (0 on the last day). */
export function daysLeft(notAfter: string, now: Date): number {
  return Math.floor((Date.parse(notAfter) - now.getTime()) / 86400000);
}
