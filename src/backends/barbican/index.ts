import { ContainerModule } from 'inversify';
import type { BackendDescriptor } from '../../core/backend';
import { CertStore } from '../../core/cert-store';
import type { HttpTransport } from '../http/transport';
import type { BarbicanOptions } from './options';
import { BarbicanTransport } from './tokens';

export { BarbicanTransport } from './tokens';

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
  capabilities: { store: ['raiseCrlNumber', 'deleteCa', 'cachesReads'], signer: [] },
  // Loaded on use: every command loads every descriptor, and option parsing is only for the chosen backends.
  parseOptions: (config) => (require('./options') as typeof import('./options')).parseBarbicanOptions(config),
  module(options) {
    // Loaded here: every command loads every descriptor, only Barbican's users need its client.
    const { AxiosTransport, RetryingTransport } = require('../http/transport') as typeof import('../http/transport');
    const { BarbicanAuth, createAuth } = require('./auth') as typeof import('./auth');
    const { BarbicanClient } = require('./client') as typeof import('./client');
    const { BarbicanCertStore } = require('./barbican-cert-store') as typeof import('./barbican-cert-store');
    const { BarbicanOptions: BarbicanOptionsToken } = require('./options') as typeof import('./options');
    return new ContainerModule(({ bind }) => {
      bind(BarbicanOptionsToken).toConstantValue(options);
      bind<HttpTransport>(BarbicanTransport).toDynamicValue(() => new RetryingTransport(new AxiosTransport(options), { retries: 2, baseDelayMs: 200 }));
      // Keystone (password or token) or noauth: which class depends on the options, so a factory.
      bind(BarbicanAuth).toDynamicValue((ctx) => createAuth(options, ctx.get<HttpTransport>(BarbicanTransport)));
      bind(BarbicanClient).toSelf();
      bind(CertStore).to(BarbicanCertStore);
    });
  },
  location: (o) => `${o.endpoint ?? (o.auth.method === 'noauth' ? '' : o.auth.authUrl)} ${o.namePrefix}`,
};
