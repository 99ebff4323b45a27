/**
 * The DNS lookups of a validation (A, AAAA, TXT) through the configured server or the system's,
 * bounded by the validation's deadline, with DNS errors translated into problems here.
 */
import { promises as dnsPromises } from 'node:dns';
import { ConfigError } from '../../core/errors';
import type { Deadline } from './deadline';
import { ChallengeFailure } from './problems';

/** Answers that mean "no such record", as opposed to a lookup that failed. */
const NO_RECORDS = new Set(['ENODATA', 'ENOTFOUND']);

const DNS_ERRORS: Readonly<Record<string, string>> = {
  ENOTFOUND: 'NXDOMAIN',
  ESERVFAIL: 'SERVFAIL',
  EREFUSED: 'REFUSED',
  ETIMEOUT: 'timeout',
  ECONNREFUSED: 'no answer from the DNS server',
  EAI_AGAIN: 'temporary failure',
};

function code(err: unknown): string | undefined {
  const c = (err as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : undefined;
}

/** Whether a lookup error only says that the name has no record of that type. */
export function isNoRecords(err: unknown): boolean {
  return NO_RECORDS.has(code(err) ?? '');
}

/** The dns problem of a failed lookup: `DNS problem: SERVFAIL looking up TXT for _acme-challenge.example.com`. */
export function dnsFailure(err: unknown, what: string): ChallengeFailure {
  if (err instanceof ChallengeFailure) return err;
  const c = code(err);
  return new ChallengeFailure('dns', `DNS problem: ${(c && DNS_ERRORS[c]) ?? c ?? 'lookup failed'} looking up ${what}`);
}

/**
 * A resolver that asks `dnsResolver` (`host:port`, `[v6]:port`) when set, else the servers of the
 * system's resolv.conf; c-ares' retries fit in what is left of the deadline.
 * @throws ConfigError when dnsResolver is not an IP address with an optional port.
 */
export function createResolver(dnsResolver: string | undefined, deadline: Deadline): dnsPromises.Resolver {
  const resolver = new dnsPromises.Resolver({ timeout: Math.ceil(deadline.remaining() / 3), tries: 2 });
  if (dnsResolver !== undefined) {
    try {
      resolver.setServers([dnsResolver]);
    } catch (err) {
      throw new ConfigError(`acme.dns_resolver "${dnsResolver}" must be an IP address and port, e.g. 127.0.0.1:8053 or [::1]:53`, { cause: err });
    }
  }
  return resolver;
}

/** `lookup(resolver)` within the deadline; a timeout cancels the resolver's queries and is a dns problem about `what`. */
export function resolveWithin<T>(
  resolver: dnsPromises.Resolver,
  deadline: Deadline,
  what: string,
  lookup: (r: dnsPromises.Resolver) => Promise<T>,
): Promise<T> {
  return deadline.race(
    lookup(resolver),
    () => new ChallengeFailure('dns', `DNS problem: timeout after ${deadline.ms} ms looking up ${what}`),
    () => resolver.cancel(),
  );
}
