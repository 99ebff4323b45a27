import type { ResolvedConfig } from '../core/config/load';
import { parseDuration } from '../core/duration';
import { InvalidInputError } from '../core/errors';
import { daysLeft } from '../core/expiry';
import type { CertificateRecord } from '../core/types';

/** The window and profile of `check --expiring` and `renew --expiring`. */
export interface ExpiryFlags {
  windowSeconds: number;
  profile?: string;
}

/**
 * Parses --expiring and --profile; a profile must be one the configuration defines.
 * @throws InvalidInputError naming --expiring or --profile.
 */
export function parseExpiryFlags(opts: { expiring: string; profile?: string }, config: ResolvedConfig): ExpiryFlags {
  const windowSeconds = parseDuration(opts.expiring, '--expiring');
  if (opts.profile !== undefined) {
    const known = Object.entries(config.profiles)
      .filter(([, p]) => !p.isCa)
      .map(([name]) => name);
    if (!known.includes(opts.profile)) throw new InvalidInputError(`--profile ${opts.profile} is not a leaf profile; choose ${known.join(', ')}`);
  }
  return { windowSeconds, profile: opts.profile };
}

/** One expiring certificate as `check` and `renew --expiring` report it. */
export interface ExpiringEntry {
  serial: string;
  commonName: string;
  dnsNames: string[];
  ipAddresses: string[];
  profile: string;
  notAfter: string;
  daysLeft: number;
}

/** The reported facts of an expiring certificate. */
export function expiringEntry(r: CertificateRecord, now: Date): ExpiringEntry {
  return {
    serial: r.serial,
    commonName: r.commonName,
    dnsNames: r.dnsNames,
    ipAddresses: r.ipAddresses,
    profile: r.profile,
    notAfter: r.notAfter,
    daysLeft: daysLeft(r.notAfter, now),
  };
}

/** One human line: notAfter, days left, serial, profile, CN and SANs. */
export function expiringLine(e: ExpiringEntry): string {
  const names = [...e.dnsNames, ...e.ipAddresses].filter((n) => n !== e.commonName);
  return `${e.notAfter.slice(0, 19)}Z  ${String(e.daysLeft).padStart(3)}d left  ${e.serial}  ${e.profile}  CN=${e.commonName || '(empty)'}${names.length ? `  SANs=${names.join(',')}` : ''}`;
}
