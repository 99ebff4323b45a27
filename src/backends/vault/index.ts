import { ContainerModule } from 'inversify';
import type { BackendDescriptor } from '../../core/backend';
import { CertStore } from '../../core/cert-store';
import { Signer } from '../../core/signer';
import type { HttpTransport } from '../http/transport';
import type { VaultOptions } from './options';
import { VaultTransport } from './tokens';

export { VaultTransport } from './tokens';

/**
 * HashiCorp Vault: the PKI engine signs (the CA key never leaves Vault); a KV v2 mount stores
 * leaf keys, certificates and certctl's inventory.
 */
export const vaultBackend: BackendDescriptor<VaultOptions> = {
  name: 'vault',
  aliases: ['vault-kv', 'vault-pki'],
  summary: 'HashiCorp Vault: its PKI engine holds the CA key and signs; a KV v2 mount stores the rest',
  section: 'vault',
  provides: { store: true, signer: true },
  capabilities: {
    store: ['raiseCrlNumber', 'deleteCa', 'state', 'revocationVersion'],
    signer: ['remote', 'warnings', 'revoke', 'issuedSerials', 'caKeyImport'],
  },
  // Loaded on use: every command loads every descriptor, and option parsing is only for the chosen backends.
  parseOptions: (config) => (require('./options') as typeof import('./options')).parseVaultOptions(config),
  module(options, roles) {
    // Loaded here: every command loads every descriptor, only Vault's users need node-vault.
    const { AxiosTransport, RetryingTransport } = require('../http/transport') as typeof import('../http/transport');
    const { VaultClient } = require('./client') as typeof import('./client');
    const { VaultOptions: VaultOptionsToken } = require('./options') as typeof import('./options');
    return new ContainerModule(({ bind }) => {
      bind(VaultOptionsToken).toConstantValue(options);
      bind<HttpTransport>(VaultTransport).toDynamicValue(() => new RetryingTransport(new AxiosTransport(options), { retries: 2, baseDelayMs: 200 }));
      // One client per container: the signer and the store share its AppRole login and connections.
      bind(VaultClient).toSelf();
      if (roles.store) bind(CertStore).to((require('./vault-kv-store') as typeof import('./vault-kv-store')).VaultKvStore);
      if (roles.signer) bind(Signer).to((require('./vault-pki-signer') as typeof import('./vault-pki-signer')).VaultPkiSigner);
    });
  },
  location: (o) => `${o.address}${o.namespace ? ` (namespace ${o.namespace})` : ''} ${o.kvMount}/${o.kvPrefix}`,
};
