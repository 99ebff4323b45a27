/**
 * The ACME validation authority (issue #13): validates one challenge — http-01, tls-alpn-01 or
 * dns-01 — and says why it failed, as an RFC 8555 problem. It knows no HTTP route and no
 * storage; the front end calls validateChallenge within the challenge POST and records the result.
 */
import { challengeInputProblem } from './challenge-input';
import { Deadline } from './deadline';
import { validateDns01 } from './dns01';
import { validateHttp01 } from './http01';
import { ChallengeFailure } from './problems';
import { validateTlsAlpn01 } from './tls-alpn01';
import type { ChallengeToValidate, ValidationResult, ValidationSettings } from './types';

export type { AcmeIdentifier, AcmeProblem, ChallengeToValidate, ValidationResult, ValidationSettings } from './types';
export { dns01TxtValue } from './dns01';

type Validator = (ch: ChallengeToValidate, settings: ValidationSettings, deadline: Deadline) => Promise<string | undefined>;

const VALIDATORS: Readonly<Record<ChallengeToValidate['type'], Validator>> = {
  'http-01': validateHttp01,
  'tls-alpn-01': validateTlsAlpn01,
  'dns-01': validateDns01,
};

/**
 * Validates one challenge within settings.timeoutMs: `{ ok: true, validatedAt, addressUsed }`
 * or `{ ok: false, problem }` (urn:ietf:params:acme:error:connection, dns, tls, unauthorized,
 * incorrectResponse, malformed, rejectedIdentifier). Never throws for a failed validation.
 * @throws ConfigError when settings.dnsResolver is not `host:port`; InternalError on a bug.
 */
export async function validateChallenge(ch: ChallengeToValidate, settings: ValidationSettings): Promise<ValidationResult> {
  const malformed = challengeInputProblem(ch);
  if (malformed) return { ok: false, problem: malformed };
  try {
    const addressUsed = await VALIDATORS[ch.type](ch, settings, new Deadline(settings.timeoutMs));
    return addressUsed === undefined ? { ok: true, validatedAt: new Date() } : { ok: true, validatedAt: new Date(), addressUsed };
  } catch (err) {
    if (err instanceof ChallengeFailure) return { ok: false, problem: err.problem };
    throw err;
  }
}
