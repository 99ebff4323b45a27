import { ConfigError, BackendAuthError, BackendUnavailableError, CertctlError, InternalError, InvalidInputError, NotFoundError } from '../../core/errors';
import { transportFailure } from '../http/errors';
import { TransportError } from '../http/transport';
import { UnexpectedResponseError, UnexpectedStatusError } from './responses';

/** The two OpenStack services the backend talks to. */
export type OpenStackService = 'Barbican' | 'Keystone';

/** What the client knows about the call that failed, for the message; never a secret. */
export interface FailedCall {
  /** `the certificate secret "…"`, `the list`: what the call was about. */
  what?: string;
  /** What to tell the operator to check when the credentials are refused. */
  hint?: string;
}

/**
 * The one translation of Barbican's and Keystone's failures into certctl's error kinds
 * (DESIGN.md "Errors and exit codes"), saying what to check. The clients (client.ts, auth.ts)
 * classify what went wrong into a typed failure — a {@link TransportError} (no answer), an
 * {@link UnexpectedStatusError} (a status the call did not expect) or an
 * {@link UnexpectedResponseError} (a body of the wrong shape) — and call this; the failure
 * becomes the `cause`. A CertctlError passes through; anything else is a bug (InternalError).
 * Never includes request bodies or headers, so no secret or token can leak into a message.
 */
export function describeHttpFailure(
  failure: unknown,
  service: OpenStackService,
  url: string,
  options: { timeoutMs: number; caFile?: string; caFileOrigin?: string },
  call: FailedCall = {},
): CertctlError {
  const where = `${service} at ${new URL(url).origin}`;
  if (failure instanceof CertctlError) return failure;
  if (failure instanceof TransportError) {
    const trust = options.caFile
      ? `the CA bundle ${options.caFile} (${options.caFileOrigin}) does not vouch for it`
      : `set barbican.ca_file (or OS_CACERT) to the CA bundle that signed its certificate`;
    return transportFailure(failure, where, options.timeoutMs, trust, 'barbican.timeout');
  }
  if (failure instanceof UnexpectedResponseError) {
    // A Keystone answer of the wrong shape has always been reported as a login failure (exit 7).
    if (service === 'Keystone')
      return new BackendAuthError(`${where}: ${failure.message}; check that OS_AUTH_URL (or barbican.auth.auth_url) is Keystone's v3 URL`, { cause: failure });
    return new BackendUnavailableError(`${where}: ${failure.message}; is this really Barbican's URL?`, { cause: failure });
  }
  if (failure instanceof UnexpectedStatusError) {
    return (service === 'Keystone' && keystoneStatus(failure, where, url, call)) || barbicanStatus(failure, where, call);
  }
  return new InternalError(`${where}: ${failure instanceof Error ? failure.message : String(failure)}`, { cause: failure });
}

/** Keystone's own statuses at login or catalog lookup; undefined for those Barbican's table covers. */
function keystoneStatus(failure: UnexpectedStatusError, where: string, url: string, call: FailedCall): CertctlError | undefined {
  const { status } = failure;
  if (status === 401 || status === 403) {
    return new BackendAuthError(`Keystone refused the credentials (${status}); check ${call.hint ?? 'the credentials'}`, { cause: failure });
  }
  if (status === 404 || status === 400 || (status >= 300 && status < 400)) {
    const path = new URL(url).pathname;
    return new ConfigError(`${where} answered ${status} for ${path}; OS_AUTH_URL (or barbican.auth.auth_url) must be Keystone's v3 URL, ending in /v3`, {
      cause: failure,
    });
  }
  return undefined;
}

/** Statuses of Barbican (and Keystone's other ones), each with what the operator can do. */
function barbicanStatus(failure: UnexpectedStatusError, where: string, call: FailedCall): CertctlError {
  const { status, detail, reason } = failure;
  const said = detail ? `: ${detail}` : '';
  const what = call.what ? ` ${call.what}` : '';
  const cause = { cause: failure };
  switch (status) {
    case 400: {
      const why =
        reason === 'request-too-large'
          ? 'Barbican answers this when a request is over max_allowed_request_size_in_bytes (25,000 by default), so the object is too large for it'
          : 'check the values certctl was asked to store';
      return new InvalidInputError(`${where} refused${what} (400)${said}; ${why}`, cause);
    }
    case 401:
      return new BackendAuthError(`${where} rejected the credentials (401)${said}; check ${call.hint ?? 'the credentials'}`, cause);
    case 403:
      if (reason === 'quota') {
        return new BackendUnavailableError(
          `${where} refused${what} (403)${said}; the project's Barbican quota is used up — delete unused secrets or ask for a higher quota`,
          cause,
        );
      }
      return new BackendAuthError(
        `${where} refused${what} (403)${said}; check ${call.hint ?? 'the role of the user on the project'} (Barbican needs creator or admin to write)`,
        cause,
      );
    case 404:
      return new NotFoundError(
        `${where} has no${what || ' such object'} (404)${said}; it may have been deleted outside certctl, or the endpoint is wrong`,
        cause,
      );
    case 413:
      return new InvalidInputError(
        `${where} refused${what} as too large (413)${said}; Barbican stores at most max_allowed_secret_in_bytes (20,000 by default) per secret`,
        cause,
      );
  }
  if (status >= 300 && status < 400) {
    return new ConfigError(`${where} redirects (${status}); certctl does not follow redirects with credentials — configure the URL it redirects to`, cause);
  }
  if (status >= 500) return new BackendUnavailableError(`${where} failed${what} (${status})${said}; retry later or check its log`, cause);
  return new InternalError(`${where} answered${what} with ${status}${said}`, cause);
}

/**
 * Whether a failed call may still have taken effect in Barbican, judged from the typed failure
 * behind the error: the request went out and its answer was lost, Barbican failed with a 5xx
 * after perhaps storing, or it answered success with a body certctl could not read. A rollback
 * then looks the object up by name instead of assuming it was never created.
 */
export function mayHaveTakenEffect(err: unknown): boolean {
  const cause = err instanceof CertctlError ? err.cause : err;
  if (cause instanceof TransportError) return cause.sent;
  if (cause instanceof UnexpectedStatusError) return cause.status >= 500;
  return cause instanceof UnexpectedResponseError;
}
