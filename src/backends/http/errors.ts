import { BackendUnavailableError, ConfigError, type CertctlError } from '../../core/errors';
import type { TransportError } from './transport';

/**
 * Translates a request that got no HTTP answer into certctl's error kinds: a TLS verification
 * failure is configuration (retrying cannot help; `tlsHint` says which setting adds the CA),
 * everything else is "backend unavailable". Never includes headers or bodies.
 */
export function transportFailure(failure: TransportError, where: string, timeoutMs: number, tlsHint: string, timeoutSetting: string): CertctlError {
  if (failure.isTls) {
    return new ConfigError(`${where}: TLS verification failed (${failure.code}); ${tlsHint}. Verification stays on.`, { cause: failure });
  }
  if (failure.code === 'ETIMEDOUT') {
    return new BackendUnavailableError(`${where} did not answer within ${timeoutMs / 1000}s; check that it is up, or raise ${timeoutSetting}`, { cause: failure });
  }
  const reason = failure.code === 'ECONNREFUSED' ? 'connection refused' : failure.code;
  return new BackendUnavailableError(`cannot reach ${where} (${reason}); check that it is running and that the URL is right`, { cause: failure });
}
