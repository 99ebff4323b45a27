/**
 * The validation authority's failures as RFC 8555 §6.7 problems, and Node's network errors
 * translated into them at one place (by error code, never by message text).
 */
import { PolicyError, toCertctlError, type CertctlError } from '../../core/errors';
import type { AcmeProblem } from './types';

/** The RFC 8555 error names a validation can end with (`urn:ietf:params:acme:error:<name>`). */
export type AcmeErrorName = 'connection' | 'dns' | 'incorrectResponse' | 'unauthorized' | 'tls' | 'malformed' | 'rejectedIdentifier';

/** The problem document of an error name and a detail for the operator. */
export function acmeProblem(name: AcmeErrorName, detail: string): AcmeProblem {
  return { type: `urn:ietf:params:acme:error:${name}`, detail };
}

/**
 * A challenge that did not validate. Thrown inside src/acme/va/ only: validateChallenge turns it
 * into `{ ok: false, problem }`. A PolicyError because the CA refuses to vouch for the identifier.
 */
export class ChallengeFailure extends PolicyError {
  readonly problem: AcmeProblem;

  /** `beforeConnect`: the TCP connection never opened, so the identifier's other address may still answer. */
  constructor(
    name: AcmeErrorName,
    detail: string,
    readonly beforeConnect = false,
  ) {
    super(detail);
    this.problem = acmeProblem(name, detail);
  }
}

function errorCode(err: unknown): string | undefined {
  // Not `instanceof Error`: errors of Node's core may come from another realm (a vm context, jest).
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

const CONNECT_ERRORS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused at',
  EHOSTUNREACH: 'host unreachable:',
  ENETUNREACH: 'network unreachable:',
  EADDRNOTAVAIL: 'address not available:',
  ETIMEDOUT: 'timeout connecting to',
};

/**
 * What a Node network error (socket, HTTP parser, TLS, abort) means for the challenge at `where`
 * (`127.0.0.1:5002`); a ChallengeFailure passes through. Returned, never thrown, so an event
 * handler can always reject with it.
 * @returns an InternalError for anything that is not a network error (a bug, not the peer).
 */
export function networkFailure(err: unknown, where: string): CertctlError {
  if (err instanceof ChallengeFailure) return err;
  const code = errorCode(err);
  if (code === undefined) return toCertctlError(err);
  if (code in CONNECT_ERRORS) return new ChallengeFailure('connection', `${CONNECT_ERRORS[code]} ${where}`, true);
  if (code === 'ABORT_ERR') return new ChallengeFailure('connection', `timeout waiting for ${where}`);
  if (code === 'ECONNRESET' || code === 'EPIPE') return new ChallengeFailure('connection', `connection reset by ${where}`);
  if (code.startsWith('HPE_')) return new ChallengeFailure('connection', `invalid HTTP response from ${where} (${code})`);
  if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || code === 'EPROTO') {
    const reason = (err as { reason?: unknown }).reason;
    return new ChallengeFailure('tls', `TLS handshake with ${where} failed: ${typeof reason === 'string' ? reason : code}`);
  }
  return new ChallengeFailure('connection', `${code} at ${where}`);
}

const PREVIEW_CHARS = 60;

/** The first 60 characters of what a peer sent, quoted with control characters escaped, for a problem's detail. */
export function preview(text: string): string {
  const chars = [...text];
  const shown = JSON.stringify(chars.slice(0, PREVIEW_CHARS).join(''));
  return chars.length > PREVIEW_CHARS ? `${shown}… (${chars.length} characters)` : shown;
}
