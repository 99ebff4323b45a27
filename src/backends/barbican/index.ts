import { ContainerModule } from 'inversify';
import type { BackendDescriptor } from '../../core/backend';
import { CertStore } from '../../core/cert-store';
import type { HttpTransport } from '../http/transport';
import { parseBarbicanOptions, type BarbicanOptions } from './options';

/**
 * inversify token of the HttpTransport the Barbican and Keystone clients send through:
 * fault-injection tests and the benchmarks wrap it with `container.onActivation(BarbicanTransport, …)`.
 */
export const BarbicanTransport = Symbol.for('certctl.barbican.BarbicanTransport');

/**
 * OpenStack Barbican: secrets and certificate containers store everything; Barbican cannot
 * sign (its certificate orders are gone), so the core's LocalSigner signs with the CA key
 * fetched into memory.
 */
export const barbicanBackend: BackendDescriptor<BarbicanOptions> = {
  name: 'barbican',
  aliases: [],
  summary: 'OpenStack Barbican: secrets and certificate containers keep everything; certctl signs with the CA key in memory',
  section: 'barbican',
  provides: { store: true, signer: false },
  capabilities: { store: ['raiseCrlNumber', 'deleteCa'], signer: [] },
  parseOptions: parseBarbicanOptions,
  module(options) {
    // Loaded here: every command loads every descriptor, only Barbican's users need its client.
    const { AxiosTransport, RetryingTransport } = require('../http/transport') as typeof import('../http/transport');
    const { createAuth } = require('./auth') as typeof import('./auth');
    const { BarbicanClient } = require('./client') as typeof import('./client');
    const { BarbicanCertStore } = require('./barbican-cert-store') as typeof import('./barbican-cert-store');
    return new ContainerModule(({ bind }) => {
      bind<HttpTransport>(BarbicanTransport).toDynamicValue(() => new RetryingTransport(new AxiosTransport(options), { retries: 2, baseDelayMs: 200 }));
      bind(CertStore).toDynamicValue((ctx) => {
        const http = ctx.get<HttpTransport>(BarbicanTransport);
        return new BarbicanCertStore(new BarbicanClient(http, createAuth(options, http), options), options.namePrefix);
      });
    });
  },
  location: (o) => `${o.endpoint ?? (o.auth.method === 'noauth' ? '' : o.auth.authUrl)} ${o.namePrefix}`,
};
