/**
 * dns-01 (RFC 8555 §8.4): one TXT record at _acme-challenge.<name> (the base name of a wildcard)
 * must be base64url(SHA-256(keyAuthorization)); asked of the configured DNS server, or the
 * system's (resolv.conf).
 */
import { createHash } from 'node:crypto';
import type { Deadline } from './deadline';
import { ChallengeFailure, preview } from './problems';
import { createResolver, dnsFailure, isNoRecords, resolveWithin } from './resolver';
import type { ChallengeToValidate, ValidationSettings } from './types';

const SHOWN_RECORDS = 3;

/** The TXT value a dns-01 challenge expects for a key authorization. */
export function dns01TxtValue(keyAuthorization: string): string {
  return createHash('sha256').update(keyAuthorization).digest('base64url');
}

async function txtRecords(name: string, settings: ValidationSettings, deadline: Deadline): Promise<string[]> {
  const resolver = createResolver(settings.dnsResolver, deadline);
  try {
    const records = await resolveWithin(resolver, deadline, `TXT for ${name}`, (r) => r.resolveTxt(name));
    // A TXT record longer than 255 bytes arrives in strings that together are its value.
    return records.map((strings) => strings.join(''));
  } catch (err) {
    if (isNoRecords(err)) return [];
    throw dnsFailure(err, `TXT for ${name}`);
  }
}

/**
 * Validates a dns-01 challenge (a DNS identifier; the caller refuses IP identifiers).
 * @throws ChallengeFailure with the problem when it does not validate; ConfigError for a bad dnsResolver.
 */
export async function validateDns01(ch: ChallengeToValidate, settings: ValidationSettings, deadline: Deadline): Promise<undefined> {
  const name = `_acme-challenge.${ch.identifier.value.replace(/^\*\./, '')}`;
  const values = await txtRecords(name, settings, deadline);
  if (values.length === 0) throw new ChallengeFailure('unauthorized', `no TXT record found at ${name}`);
  const expected = dns01TxtValue(ch.keyAuthorization);
  if (values.includes(expected)) return undefined;
  const shown = values.slice(0, SHOWN_RECORDS).map(preview).join(', ');
  const more = values.length > SHOWN_RECORDS ? ` and ${values.length - SHOWN_RECORDS} more` : '';
  throw new ChallengeFailure('incorrectResponse', `no TXT record at ${name} is ${JSON.stringify(expected)}: found ${shown}${more}`);
}
