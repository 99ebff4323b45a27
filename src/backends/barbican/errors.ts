import {
  ConfigError,
  BackendAuthError,
  BackendUnavailableError,
  CertctlError,
  InternalError,
  InvalidInputError,
  NotFoundError,
} from '../../core/errors';
import { transportFailure } from '../http/errors';
import { TransportError } from '../http/transport';
import { errorDescription, UnexpectedResponseError } from './responses';

/** An HTTP status and body that came back where success was expected. */
export interface FailedResponse {
  status: number;
  data: unknown;
}

/**
 * Translates a transport failure or an unexpected HTTP status into certctl's error kinds
 * (DESIGN.md "Errors and exit codes"), saying what to check. Never includes request bodies or
 * headers, so no secret or token can leak into a message.
 */
export function describeHttpFailure(
  failure: unknown,
  service: 'Barbican' | 'Keystone',
  url: string,
  options: { timeoutMs: number; caFile?: string; caFileOrigin?: string },
  context: { what?: string; hint?: string } = {},
): CertctlError {
  const where = `${service} at ${new URL(url).origin}`;
  if (failure instanceof CertctlError) return failure;
  if (failure instanceof UnexpectedResponseError) {
    return new BackendUnavailableError(`${where}: ${failure.message}; is this really ${service}'s URL?`, { cause: failure });
  }
  if (failure instanceof TransportError) {
    const trust = /ALTNAME|HOSTNAME/.test(failure.code)
      ? 'its certificate does not name this host; use the host name the certificate was issued for'
      : /EXPIRED|NOT_YET_VALID/.test(failure.code)
        ? "the server's certificate is outside its validity period; renew it"
        : options.caFile
          ? `the CA bundle ${options.caFile} (${options.caFileOrigin}) does not vouch for it`
          : `set barbican.ca_file (or OS_CACERT) to the CA bundle that signed its certificate`;
    return transportFailure(failure, where, options.timeoutMs, trust, 'barbican.timeout');
  }
  if (isFailedResponse(failure)) {
    const detail = errorDescription(failure.data);
    const said = detail ? `: ${detail}` : '';
    const what = context.what ? ` ${context.what}` : '';
    switch (failure.status) {
      case 400:
        return new InvalidInputError(
          `${where} refused${what} (400)${said}; ${/malformed json/i.test(detail) ? "Barbican answers this when a request is over max_allowed_request_size_in_bytes (25,000 by default), so the object is too large for it" : 'check the values certctl was asked to store'}`,
        );
      case 401:
        return new BackendAuthError(`${where} rejected the credentials (401)${said}; check ${context.hint ?? 'the credentials'}`);
      case 403:
        if (/quota/i.test(detail)) return new BackendUnavailableError(`${where} refused${what} (403)${said}; the project's Barbican quota is used up — delete unused secrets or ask for a higher quota`);
        return new BackendAuthError(`${where} refused${what} (403)${said}; check ${context.hint ?? 'the role of the user on the project'} (Barbican needs creator or admin to write)`);
      case 404:
        return new NotFoundError(`${where} has no${what || ' such object'} (404)${said}; it may have been deleted outside certctl, or the endpoint is wrong`);
      case 413:
        return new InvalidInputError(`${where} refused${what} as too large (413)${said}; Barbican stores at most max_allowed_secret_in_bytes (20,000 by default) per secret`);
      default:
        if (failure.status >= 300 && failure.status < 400) {
          return new ConfigError(`${where} redirects (${failure.status}); certctl does not follow redirects with credentials — configure the URL it redirects to`);
        }
        if (failure.status >= 500) return new BackendUnavailableError(`${where} failed${what} (${failure.status})${said}; retry later or check its log`);
        return new InternalError(`${where} answered${what} with ${failure.status}${said}`);
    }
  }
  return new InternalError(`${where}: ${(failure as Error)?.message ?? String(failure)}`, { cause: failure });
}

function isFailedResponse(x: unknown): x is FailedResponse {
  return typeof x === 'object' && x !== null && typeof (x as FailedResponse).status === 'number' && !(x instanceof Error);
}
