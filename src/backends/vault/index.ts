import { ContainerModule } from 'inversify';
import type { BackendDescriptor } from '../../core/backend';
import { CertStore } from '../../core/cert-store';
import { ResolvedConfig } from '../../core/config/load';
import { Signer } from '../../core/signer';
import type { HttpTransport } from '../http/transport';
import { parseVaultOptions, type VaultOptions } from './options';

/**
 * inversify token of the HttpTransport the Vault client sends through: fault-injection tests and
 * the benchmarks wrap it with `container.onActivation(VaultTransport, …)`.
 */
export const VaultTransport = Symbol.for('certctl.vault.VaultTransport');
/** inversify token of the VaultClient, shared by the signer and the store of one container. */
export const VaultClientToken = Symbol.for('certctl.vault.VaultClient');

/**
 * HashiCorp Vault: the PKI engine signs (the CA key never leaves Vault); a KV v2 mount stores
 * leaf keys, certificates and certctl's inventory.
 */
export const vaultBackend: BackendDescriptor<VaultOptions> = {
  name: 'vault',
  aliases: ['vault-kv', 'vault-pki'],
  summary: "HashiCorp Vault: its PKI engine holds the CA key and signs; a KV v2 mount stores the rest",
  section: 'vault',
  provides: { store: true, signer: true },
  capabilities: { store: ['raiseCrlNumber', 'deleteCa'], signer: ['remote', 'warnings', 'revoke', 'issuedSerials', 'caKeyImport'] },
  parseOptions: parseVaultOptions,
  module(options, roles) {
    // Loaded here: every command loads every descriptor, only Vault's users need node-vault.
    const { AxiosTransport, RetryingTransport } = require('../http/transport') as typeof import('../http/transport');
    const { VaultClient } = require('./client') as typeof import('./client');
    return new ContainerModule(({ bind }) => {
      bind<HttpTransport>(VaultTransport).toDynamicValue(() => new RetryingTransport(new AxiosTransport(options), { retries: 2, baseDelayMs: 200 }));
      bind(VaultClientToken).toDynamicValue((ctx) => new VaultClient(ctx.get<HttpTransport>(VaultTransport), options));
      if (roles.store) {
        const { VaultKvStore } = require('./vault-kv-store') as typeof import('./vault-kv-store');
        bind(CertStore).toDynamicValue((ctx) => new VaultKvStore(ctx.get(VaultClientToken), options.kvMount, options.kvPrefix));
      }
      if (roles.signer) {
        const { VaultPkiSigner } = require('./vault-pki-signer') as typeof import('./vault-pki-signer');
        bind(Signer).toDynamicValue((ctx) => {
          const signer = new VaultPkiSigner(ctx.get(VaultClientToken), options.pkiMount, ctx.get<ResolvedConfig>(ResolvedConfig));
          signer.attachStore(ctx.get<CertStore>(CertStore));
          return signer;
        });
      }
    });
  },
  location: (o) => `${o.address}${o.namespace ? ` (namespace ${o.namespace})` : ''} ${o.kvMount}/${o.kvPrefix}`,
};
