/**
 * Where a validation may connect: the identifier's own addresses, resolved here and handed to the
 * HTTP and TLS code as IP addresses, so no library lookup, second answer or redirect can send a
 * connection to another host (issue #13: the CA must not be a probe of other hosts). Loopback and
 * private addresses are allowed: certctl is a private CA whose names often resolve to them, and
 * which names may be validated at all is the profile's policy, checked before any challenge.
 * Addresses that are never one host's own are refused: unspecified, link-local (cloud metadata
 * services live there), multicast and reserved.
 */
import { promises as dnsPromises } from 'node:dns';
import { isIP } from 'node:net';
import { ipAddressOctets } from '../../core/x509/fields';
import type { Deadline } from './deadline';
import { ChallengeFailure } from './problems';
import { createResolver, dnsFailure, isNoRecords, resolveWithin } from './resolver';
import type { AcmeIdentifier } from './types';

function v4Part(octets: Buffer): Buffer | undefined {
  if (octets.length === 4) return octets;
  const mapped = octets.subarray(0, 10).every((b) => b === 0) && octets[10] === 0xff && octets[11] === 0xff;
  return mapped ? octets.subarray(12) : undefined;
}

/** Why validation never connects to `address`, or undefined when it may. */
export function refusedAddressReason(address: string): string | undefined {
  // A zone ("fe80::1%eth0") only ever qualifies a link-local or other scoped address.
  if (address.includes('%')) return 'scoped';
  const octets = ipAddressOctets(address);
  const v4 = v4Part(octets);
  if (v4) {
    if (v4[0] === 0) return 'unspecified';
    if (v4[0] === 169 && v4[1] === 254) return 'link-local';
    if (v4[0] >= 224) return v4[0] < 240 ? 'multicast' : 'reserved';
    return undefined;
  }
  if (octets.every((b) => b === 0)) return 'unspecified';
  if (octets[0] === 0xfe && (octets[1] & 0xc0) === 0x80) return 'link-local';
  if (octets[0] === 0xff) return 'multicast';
  return undefined;
}

/** The RFC 8738 §6 reverse-DNS name of an IP address (tls-alpn-01's SNI): 1.0.0.127.in-addr.arpa, ….ip6.arpa. */
export function reverseDnsName(address: string): string {
  const octets = [...ipAddressOctets(address)].reverse();
  if (octets.length === 4) return `${octets.join('.')}.in-addr.arpa`;
  return `${octets.flatMap((b) => [(b & 0xf).toString(16), (b >> 4).toString(16)]).join('.')}.ip6.arpa`;
}

/** The identifier as a URL's host: an IPv6 address in brackets. */
export function urlHost(identifier: AcmeIdentifier): string {
  return isIP(identifier.value) === 6 ? `[${identifier.value}]` : identifier.value;
}

/** How an address appears next to a port in a detail: 127.0.0.1:80, [::1]:80. */
export function endpoint(address: string, port: number): string {
  return isIP(address) === 6 ? `[${address}]:${port}` : `${address}:${port}`;
}

async function systemLookup(name: string, deadline: Deadline): Promise<string[]> {
  try {
    // getaddrinfo, as every other program on the host resolves names (/etc/hosts included).
    const found = await deadline.race(dnsPromises.lookup(name, { all: true, verbatim: true }), () => dnsFailure({ code: 'ETIMEOUT' }, name));
    return found.map((a) => a.address);
  } catch (err) {
    throw dnsFailure(err, name);
  }
}

async function serverLookup(name: string, dnsResolver: string, deadline: Deadline): Promise<string[]> {
  const resolver = createResolver(dnsResolver, deadline);
  const [v6, v4] = await Promise.allSettled([
    resolveWithin(resolver, deadline, `AAAA for ${name}`, (r) => r.resolve6(name)),
    resolveWithin(resolver, deadline, `A for ${name}`, (r) => r.resolve4(name)),
  ]);
  const found = [...(v6.status === 'fulfilled' ? v6.value : []), ...(v4.status === 'fulfilled' ? v4.value : [])];
  // One family failing is no failure when the other answered (a broken AAAA server is common).
  if (found.length > 0) return found;
  for (const [outcome, type] of [
    [v4, 'A'],
    [v6, 'AAAA'],
  ] as const) {
    if (outcome.status === 'rejected' && !isNoRecords(outcome.reason)) throw dnsFailure(outcome.reason, `${type} for ${name}`);
  }
  return [];
}

/**
 * The addresses to try for an identifier, in order: its first IPv6 then its first IPv4 address
 * (the second is tried only when the first cannot be connected to, as Let's Encrypt does). An IP
 * identifier is its own one address.
 * @throws ChallengeFailure (dns) when the name does not resolve or resolves only to refused
 *   addresses; (rejectedIdentifier) for a refused IP identifier; ConfigError for a bad dnsResolver.
 */
export async function resolveAddresses(identifier: AcmeIdentifier, dnsResolver: string | undefined, deadline: Deadline): Promise<string[]> {
  if (identifier.type === 'ip') {
    const reason = refusedAddressReason(identifier.value);
    if (reason) throw new ChallengeFailure('rejectedIdentifier', `validation does not connect to ${reason} addresses such as ${identifier.value}`);
    return [identifier.value];
  }
  const name = identifier.value;
  const found = dnsResolver === undefined ? await systemLookup(name, deadline) : await serverLookup(name, dnsResolver, deadline);
  const allowed = found.filter((a) => !refusedAddressReason(a));
  const picked = [allowed.find((a) => isIP(a) === 6), allowed.find((a) => isIP(a) === 4)].filter((a): a is string => a !== undefined);
  if (picked.length > 0) return picked;
  if (found.length === 0) throw new ChallengeFailure('dns', `DNS problem: no A or AAAA record for ${name}`);
  const refused = found.map((a) => `${a} (${refusedAddressReason(a)})`).join(', ');
  throw new ChallengeFailure('dns', `${name} resolves only to addresses validation does not connect to: ${refused}`);
}
