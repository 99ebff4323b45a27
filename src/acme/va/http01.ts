/**
 * http-01 (RFC 8555 §8.3): GET http://<identifier>:<http01Port>/.well-known/acme-challenge/<token>
 * from the identifier's own addresses; the body, less trailing whitespace, must be the key
 * authorization. Redirects (at most 10) are followed only to the same host, over http or https, on
 * port 80 or 443 — or their test stand-ins, the configured http-01 and tls-alpn-01 ports — so
 * validation cannot be sent to any other host or service.
 */
import { isIP } from 'node:net';
import { resolveAddresses, urlHost } from './addresses';
import { firstConnecting } from './connect';
import type { Deadline } from './deadline';
import { fetchOnce } from './http-fetch';
import { ChallengeFailure, preview } from './problems';
import type { AcmeIdentifier, ChallengeToValidate, ValidationSettings } from './types';

/** RFC 8555 §8.3 leaves the number to the server; 10 is what Let's Encrypt follows. */
export const MAX_REDIRECTS = 10;

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

function refused(to: string, why: string): ChallengeFailure {
  return new ChallengeFailure('unauthorized', `redirect to ${preview(to)} refused: ${why}`);
}

/**
 * Where a redirect from `from` may lead: the Location resolved against `from`, when it is http or
 * https on the identifier's own host and on an allowed port.
 * @throws ChallengeFailure (unauthorized) for any other target.
 */
export function redirectTarget(from: URL, location: string | undefined, identifier: AcmeIdentifier, settings: ValidationSettings): URL {
  if (location === undefined) throw new ChallengeFailure('unauthorized', `${from.href} answered a redirect without a Location`);
  let to: URL;
  try {
    to = new URL(location, from);
  } catch {
    throw refused(location, 'not a URL');
  }
  if (to.protocol !== 'http:' && to.protocol !== 'https:') throw refused(to.href, 'only http and https are followed');
  // WHATWG URL parsing canonicalizes both sides (case, IPv6 zeros, IPv4 in decimal or hex).
  if (to.hostname !== new URL(`http://${urlHost(identifier)}/`).hostname) throw refused(to.href, `validation of ${identifier.value} stays on that host`);
  const https = to.protocol === 'https:';
  const allowed = https ? [443, settings.tlsAlpn01Port] : [80, settings.http01Port];
  const port = Number(to.port) || (https ? 443 : 80);
  if (!allowed.includes(port)) throw refused(to.href, `${to.protocol.slice(0, -1)} is followed to port ${[...new Set(allowed)].join(' or ')} only`);
  return to;
}

function checkBody(body: Buffer, keyAuthorization: string, url: URL): void {
  // RFC 8555 §8.3: the server SHOULD ignore whitespace characters at the end of the body.
  const text = body.toString('utf8').replace(/[ \t\r\n]+$/, '');
  if (text !== keyAuthorization) {
    throw new ChallengeFailure(
      'incorrectResponse',
      `the key authorization at ${url.href} does not match: expected ${JSON.stringify(keyAuthorization)} but got ${preview(text)}`,
    );
  }
}

/**
 * Validates an http-01 challenge; resolves to the address that answered.
 * @throws ChallengeFailure with the problem when it does not validate; ConfigError for a bad dnsResolver.
 */
export async function validateHttp01(ch: ChallengeToValidate, settings: ValidationSettings, deadline: Deadline): Promise<string> {
  let addresses = await resolveAddresses(ch.identifier, settings.dnsResolver, deadline);
  const servername = isIP(ch.identifier.value) ? undefined : ch.identifier.value;
  let url = new URL(`http://${urlHost(ch.identifier)}:${settings.http01Port}/.well-known/acme-challenge/${ch.token}`);
  for (let redirects = 0; ; redirects++) {
    const { value: answer, address } = await firstConnecting(addresses, deadline, (a, connectMs) => fetchOnce(url, a, servername, connectMs, deadline));
    // The address that answered goes first for the next request: no second connect to a dead one.
    addresses = [address, ...addresses.filter((a) => a !== address)];
    if (REDIRECT_STATUSES.has(answer.status)) {
      if (redirects === MAX_REDIRECTS) throw new ChallengeFailure('unauthorized', `more than ${MAX_REDIRECTS} redirects, the last from ${url.href}`);
      url = redirectTarget(url, answer.location, ch.identifier, settings);
      continue;
    }
    if (answer.status !== 200)
      throw new ChallengeFailure('unauthorized', `${url.href} answered HTTP ${answer.status}, expected 200 with the key authorization`);
    checkBody(answer.body, ch.keyAuthorization, url);
    return address;
  }
}
