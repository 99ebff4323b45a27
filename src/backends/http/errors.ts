import { BackendUnavailableError, ConfigError, type CertctlError } from '../../core/errors';
import type { TransportError } from './transport';

/**
 * Translates a request that got no HTTP answer into certctl's error kinds, for every REST
 * backend: a TLS verification failure is configuration (retrying cannot help; a wrong host name
 * or an expired certificate is said as such, and `trustHint` names the setting that adds the
 * CA), everything else is "backend unavailable". Never includes headers or bodies.
 */
export function transportFailure(failure: TransportError, where: string, timeoutMs: number, trustHint: string, timeoutSetting: string): CertctlError {
  const tls = failure.tlsProblem;
  if (tls) {
    const fix =
      tls === 'name'
        ? 'its certificate does not name this host; use the host name the certificate was issued for'
        : tls === 'validity'
          ? "the server's certificate is outside its validity period; renew it"
          : trustHint;
    return new ConfigError(`${where}: TLS verification failed (${failure.code}); ${fix}. Verification stays on.`, { cause: failure });
  }
  if (failure.code === 'ETIMEDOUT') {
    return new BackendUnavailableError(`${where} did not answer within ${timeoutMs / 1000}s; check that it is up, or raise ${timeoutSetting}`, {
      cause: failure,
    });
  }
  const reason = failure.code === 'ECONNREFUSED' ? 'connection refused' : failure.code;
  return new BackendUnavailableError(`cannot reach ${where} (${reason}); check that it is running and that the URL is right`, { cause: failure });
}
