/**
 * The checks on a challenge before anything is looked up or connected to: the caller's values end
 * up in a URL path, a Host header, an SNI and a DNS query, so they must be what RFC 8555 says.
 */
import { isIP } from 'node:net';
import { acmeProblem } from './problems';
import type { AcmeProblem, ChallengeToValidate } from './types';

const BASE64URL_256_BITS = /^[A-Za-z0-9_-]{43}$/;
const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const DNS_NAME = new RegExp(`^(?:\\*\\.)?${LABEL}(?:\\.${LABEL})*$`);
const MAX_NAME_LENGTH = 253;
const TYPES = new Set(['http-01', 'tls-alpn-01', 'dns-01']);

function identifierProblem(ch: ChallengeToValidate): string | undefined {
  const { type, value } = ch.identifier;
  if (type === 'ip') {
    if (isIP(value) === 0) return `identifier ${JSON.stringify(value)} is not an IP address`;
    // RFC 8738 §7: dns-01 cannot prove control of an IP address.
    if (ch.type === 'dns-01') return 'dns-01 cannot validate an IP address identifier';
    return undefined;
  }
  if (type !== 'dns') return `identifier type ${JSON.stringify(type)} is neither dns nor ip`;
  if (value.length > MAX_NAME_LENGTH || !DNS_NAME.test(value) || isIP(value) !== 0) {
    return `identifier ${JSON.stringify(value)} is not a lower-case DNS name`;
  }
  if (value.startsWith('*.') && ch.type !== 'dns-01') return `a wildcard name can be validated by dns-01 only, not ${ch.type}`;
  return undefined;
}

/** Why the challenge cannot be validated as given (a malformed problem), or undefined when it can. */
export function challengeInputProblem(ch: ChallengeToValidate): AcmeProblem | undefined {
  const why = !TYPES.has(ch.type)
    ? `unknown challenge type ${JSON.stringify(ch.type)}`
    : !BASE64URL_256_BITS.test(ch.token)
      ? 'the token is not 43 base64url characters'
      : !ch.keyAuthorization.startsWith(`${ch.token}.`) || !BASE64URL_256_BITS.test(ch.keyAuthorization.slice(ch.token.length + 1))
        ? 'the key authorization is not the token, a dot and a base64url SHA-256 thumbprint'
        : identifierProblem(ch);
  return why === undefined ? undefined : acmeProblem('malformed', why);
}
