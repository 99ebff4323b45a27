import { ContainerModule } from 'inversify';
import type { BackendDescriptor } from '../../core/backend';
import { CertStore } from '../../core/cert-store';
import type { ResolvedConfig } from '../../core/config/load';
import { Signer } from '../../core/signer';
import { AxiosTransport, RetryingTransport, type HttpTransport } from '../http/transport';
import { VaultClient } from './client';
import { parseVaultOptions, type VaultOptions } from './options';
import { VaultKvStore } from './vault-kv-store';
import { VaultPkiSigner } from './vault-pki-signer';

/** One client per process, shared by the signer and the store when both are Vault. */
const clients = new WeakMap<ResolvedConfig, VaultClient>();
const parsed = new WeakMap<ResolvedConfig, VaultOptions>();

/** The `vault:` options, parsed once per configuration (the token file is read once). */
function optionsOf(config: ResolvedConfig): VaultOptions {
  let options = parsed.get(config);
  if (!options) parsed.set(config, (options = parseVaultOptions(config)));
  return options;
}

/**
 * The Vault client for certctl.yaml's `vault:` section and `VAULT_*` variables.
 * `wrap` lets fault-injection tests put their transport around the real one.
 * @throws ConfigError naming `vault.<key>`.
 */
export function vaultClient(config: ResolvedConfig, wrap: (t: HttpTransport) => HttpTransport = (t) => t): VaultClient {
  const cached = clients.get(config);
  if (cached) return cached;
  const options = optionsOf(config);
  const client = new VaultClient(wrap(new RetryingTransport(new AxiosTransport(options), { retries: 2, baseDelayMs: 200 })), options);
  clients.set(config, client);
  return client;
}

/** The KV v2 store of the `vault:` section. */
export function createVaultKvStore(config: ResolvedConfig, client = vaultClient(config)): VaultKvStore {
  const o = optionsOf(config);
  return new VaultKvStore(client, o.kvMount, o.kvPrefix);
}

/** The PKI signer of the `vault:` section. */
export function createVaultPkiSigner(config: ResolvedConfig, client = vaultClient(config)): VaultPkiSigner {
  return new VaultPkiSigner(client, optionsOf(config).pkiMount, config);
}

/**
 * HashiCorp Vault: the PKI engine signs (the CA key never leaves Vault); a KV v2 mount stores
 * leaf keys, certificates and certctl's inventory.
 */
export const vaultBackend: BackendDescriptor = {
  name: 'vault',
  storeModule(config) {
    const store = createVaultKvStore(config);
    return new ContainerModule(({ bind }) => void bind(CertStore).toConstantValue(store));
  },
  signerModule(config) {
    const signer = createVaultPkiSigner(config);
    return new ContainerModule(({ bind }) => void bind(Signer).toConstantValue(signer));
  },
};
