import { ContainerModule } from 'inversify';
import type { BackendDescriptor } from '../../core/backend';
import { CertStore } from '../../core/cert-store';
import type { ResolvedConfig } from '../../core/config/load';
import { AxiosTransport, RetryingTransport, type HttpTransport } from '../http/transport';
import { createAuth } from './auth';
import { BarbicanCertStore } from './barbican-cert-store';
import { BarbicanClient } from './client';
import { parseBarbicanOptions } from './options';

/**
 * Builds the Barbican store from certctl.yaml's `barbican:` section and `OS_*` variables.
 * `wrap` lets fault-injection tests put their transport around the real one.
 * @throws ConfigError naming `barbican.<key>`.
 */
export function createBarbicanStore(config: ResolvedConfig, wrap: (t: HttpTransport) => HttpTransport = (t) => t): BarbicanCertStore {
  const options = parseBarbicanOptions(config);
  const http = wrap(new RetryingTransport(new AxiosTransport(options), { retries: 2, baseDelayMs: 200 }));
  const client = new BarbicanClient(http, createAuth(options, http), options);
  return new BarbicanCertStore(client, options.namePrefix);
}

/**
 * OpenStack Barbican: secrets and certificate containers store everything; Barbican cannot
 * sign (its certificate orders are gone), so the core's LocalSigner signs with the CA key
 * fetched into memory.
 */
export const barbicanBackend: BackendDescriptor = {
  name: 'barbican',
  storeModule(config) {
    const store = createBarbicanStore(config);
    return new ContainerModule(({ bind }) => void bind(CertStore).toConstantValue(store));
  },
};
