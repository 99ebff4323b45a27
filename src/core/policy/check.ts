import { ipFamily } from '../ip';
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
 * The CN of a profile with `commonNameInSan` (server, peer, custom TLS-server profiles) that is
 * itself a host name or IP is added to the SANs (TLS clients ignore the CN), and then checked like
 * any other name; a CN that is a host name in the SANs is written as the SAN is.
 * @throws InvalidInputError for a malformed name; PolicyError for a name the policy refuses.
 */
export function checkNames(profile: Profile, commonName: string, dns: string[], ips: string[], source = 'request'): CheckedNames {
  const dnsNames: string[] = [];
  const ipAddresses: string[] = [];
  const addDns = (raw: string) => {
    const name = normaliseDnsName(raw);
    if (!isValidDnsName(name)) {
      throw new InvalidInputError(
        `${source}: DNS name "${raw}" is not a valid host name (letters, digits and hyphens in dot-separated labels; a wildcard only as "*.")`,
      );
    }
    if (!dnsNames.includes(name)) dnsNames.push(name);
    return name;
  };
  const addIp = (raw: string) => {
    const family = ipFamily(raw.trim());
    if (!family) throw new InvalidInputError(`${source}: "${raw}" is not an IPv4 or IPv6 address`);
    const ip = normaliseIp(raw.trim());
    if (!ipAddresses.includes(ip)) ipAddresses.push(ip);
    return ip;
  };
  dns.forEach(addDns);
  ips.forEach(addIp);

  if (commonName.length > 64) {
    throw new InvalidInputError(`${source}: the common name is ${commonName.length} characters; X.509 allows at most 64`);
  }
  // A CN that names a host is written as its SAN is (lower case, no trailing dot, IPv4 for a mapped
  // address), so relying parties that compare the two see one name (zlint e_subject_common_name_not_exactly_from_san).
  let cn = commonName;
  if (commonName) {
    const ipLike = ipFamily(commonName) !== 0;
    const asDns = normaliseDnsName(commonName);
    const hostLike = !ipLike && isValidDnsName(asDns, true) && (commonName.includes('.') || asDns === 'localhost');
    if (profile.commonNameInSan) {
      if (ipLike) cn = addIp(commonName);
      else if (hostLike) cn = addDns(commonName);
    } else if (ipLike && ipAddresses.includes(normaliseIp(commonName))) {
      cn = normaliseIp(commonName);
    } else if (hostLike && dnsNames.includes(asDns)) {
      cn = asDns;
    }
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
    if (profile.allowedIps && !profile.allowedIps.list.check(ip, ipFamily(ip) === 6 ? 'ipv6' : 'ipv4')) {
      throw new PolicyError(
        `IP address ${ip} is not allowed by profiles.${profile.name}.allowed_ips (${profile.allowedIps.text.join(', ')}); ask for an address in range or extend the policy in certctl.yaml`,
      );
    }
  }
  return { commonName: cn, dnsNames, ipAddresses };
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

/** A DNS name as certctl writes it: trimmed, lower case, without the root's trailing dot. */
export function normaliseDnsName(raw: string): string {
  return raw.trim().toLowerCase().replace(/\.$/, '');
}

/**
 * An IP address as certctl writes it: IPv6 in RFC 5952 form, and an IPv4-mapped IPv6 address
 * (`::ffff:10.0.0.1`) as its IPv4 address. Relying parties compare the SAN with the address they
 * connected to: OpenSSL's X509_check_ip compares octet strings, so a 16-octet mapped SAN never
 * matches a client that connected over IPv4, while the 4-octet form matches both it and Go (whose
 * net.IP.Equal treats the two forms as one).
 */
export function normaliseIp(ip: string): string {
  if (ipFamily(ip) !== 6) return ip;
  // Round-trip through URL parsing gives the RFC 5952 canonical text form (and `::ffff:a00:1` for a mapped address).
  const canonical = new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
  if (!mapped) return canonical;
  const [hi, lo] = [parseInt(mapped[1], 16), parseInt(mapped[2], 16)];
  return [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff].join('.');
}
