import { isIP } from 'node:net';
import { InvalidInputError, PolicyError } from '../errors';
import { formatDuration } from '../duration';
import type { KeyType } from '../types';
import { isValidDnsName, type Profile } from './profiles';

/** Names after validation and normalisation (lower-case DNS, canonical IP text), ready for the certificate. */
export interface CheckedNames {
  commonName: string;
  dnsNames: string[];
  ipAddresses: string[];
}

/**
 * Validates and normalises requested names against a profile's policy.
 * The CN of a server or peer certificate that is itself a host name or IP is added to
 * the SANs (TLS clients ignore the CN), and then checked like any other name.
 * @throws InvalidInputError for a malformed name; PolicyError for a name the policy refuses.
 */
export function checkNames(profile: Profile, commonName: string, dns: string[], ips: string[], source = 'request'): CheckedNames {
  const dnsNames: string[] = [];
  const ipAddresses: string[] = [];
  const addDns = (raw: string) => {
    const name = raw.trim().toLowerCase().replace(/\.$/, '');
    if (!isValidDnsName(name)) {
      throw new InvalidInputError(
        `${source}: DNS name "${raw}" is not a valid host name (letters, digits and hyphens in dot-separated labels; a wildcard only as "*.")`,
      );
    }
    if (!dnsNames.includes(name)) dnsNames.push(name);
  };
  const addIp = (raw: string) => {
    const family = isIP(raw.trim());
    if (!family) throw new InvalidInputError(`${source}: "${raw}" is not an IPv4 or IPv6 address`);
    const ip = family === 6 ? normaliseIpv6(raw.trim()) : raw.trim();
    if (!ipAddresses.includes(ip)) ipAddresses.push(ip);
  };
  dns.forEach(addDns);
  ips.forEach(addIp);

  if (commonName.length > 64) {
    throw new InvalidInputError(`${source}: the common name is ${commonName.length} characters; X.509 allows at most 64`);
  }
  if ((profile.name === 'server' || profile.name === 'peer') && commonName) {
    // Only IP-looking CNs reach isIP: its first call compiles node's IPv6 pattern (~4 ms of start-up).
    if (/^[\d.]+$|:/.test(commonName) && isIP(commonName)) addIp(commonName);
    else if (isValidDnsName(commonName.toLowerCase(), true) && (commonName.includes('.') || commonName.toLowerCase() === 'localhost')) addDns(commonName);
  }

  if (profile.requiresSan && dnsNames.length === 0 && ipAddresses.length === 0) {
    throw new PolicyError(`profile ${profile.name} requires at least one DNS or IP subject alternative name; add --dns NAME or --ip ADDR`);
  }
  for (const name of dnsNames) {
    if (profile.allowedDns && !profile.allowedDns.some((pattern) => dnsMatches(pattern, name))) {
      throw new PolicyError(
        `DNS name "${name}" is not allowed by profiles.${profile.name}.allowed_dns (${profile.allowedDns.join(', ')}); ask for a name the policy allows or extend the policy in certctl.yaml`,
      );
    }
  }
  for (const ip of ipAddresses) {
    if (profile.allowedIps && !profile.allowedIps.list.check(ip, isIP(ip) === 6 ? 'ipv6' : 'ipv4')) {
      throw new PolicyError(
        `IP address ${ip} is not allowed by profiles.${profile.name}.allowed_ips (${profile.allowedIps.text.join(', ')}); ask for an address in range or extend the policy in certctl.yaml`,
      );
    }
  }
  return { commonName, dnsNames, ipAddresses };
}

/**
 * `*.example.com` matches exactly one extra label (as TLS wildcard matching does) and
 * the wildcard name itself; any other pattern matches only itself.
 */
export function dnsMatches(pattern: string, name: string): boolean {
  if (pattern === name) return true;
  if (!pattern.startsWith('*.')) return false;
  const suffix = pattern.slice(1);
  if (!name.endsWith(suffix)) return false;
  const head = name.slice(0, -suffix.length);
  return head.length > 0 && !head.includes('.') && head !== '*';
}

/**
 * Checks the key type against the profile.
 * @throws PolicyError naming the allowed types.
 */
export function checkKeyType(profile: Profile, keyType: KeyType, source = 'request'): void {
  if (!profile.allowedKeyTypes.includes(keyType)) {
    throw new PolicyError(
      `${source}: key type ${keyType} is not allowed for profile ${profile.name}; allowed: ${profile.allowedKeyTypes.join(', ')} (profiles.${profile.name}.allowed_key_types)`,
    );
  }
}

/** The validity window a request gets. */
export interface Validity {
  notBefore: Date;
  notAfter: Date;
  /** Set when the default TTL was shortened to end with the CA. */
  warning?: string;
}

/** How far notBefore is backdated, to tolerate clock skew between hosts. */
const BACKDATE_SECONDS = 60;

/**
 * Computes notBefore/notAfter. An explicit TTL above the profile maximum or past the CA's
 * own notAfter is refused; the default TTL is shortened to end with the CA, with a warning.
 * @throws PolicyError naming the limit and the longest TTL possible.
 */
export function checkValidity(
  profile: Profile,
  requestedTtl: number | undefined,
  caNotAfter: Date,
  now = new Date(),
  defaultTtl = profile.defaultTtlSeconds,
): Validity {
  const nowSec = Math.floor(now.getTime() / 1000);
  const notBefore = new Date((nowSec - BACKDATE_SECONDS) * 1000);
  const ttl = requestedTtl ?? Math.min(defaultTtl, profile.maxTtlSeconds);
  if (requestedTtl !== undefined && requestedTtl > profile.maxTtlSeconds) {
    throw new PolicyError(
      `TTL ${formatDuration(requestedTtl)} is longer than profiles.${profile.name}.max_ttl (${formatDuration(profile.maxTtlSeconds)}); ask for --ttl ${formatDuration(profile.maxTtlSeconds)} or less`,
    );
  }
  const caEnd = Math.floor(caNotAfter.getTime() / 1000);
  if (caEnd <= nowSec) {
    throw new PolicyError(`the CA certificate expired at ${caNotAfter.toISOString()}; create a new CA or renew it`);
  }
  let notAfterSec = nowSec + ttl;
  let warning: string | undefined;
  if (notAfterSec > caEnd) {
    if (requestedTtl !== undefined) {
      const longest = Math.floor((caEnd - nowSec) / 86400);
      throw new PolicyError(
        `TTL ${formatDuration(requestedTtl)} would outlive the CA, which expires at ${caNotAfter.toISOString()}; the longest TTL possible is ${longest}d`,
      );
    }
    notAfterSec = caEnd;
    warning = `validity shortened to end with the CA at ${caNotAfter.toISOString()}`;
  }
  return { notBefore, notAfter: new Date(notAfterSec * 1000), warning };
}

function normaliseIpv6(ip: string): string {
  // Round-trip through URL parsing gives the RFC 5952 canonical text form.
  return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
}
