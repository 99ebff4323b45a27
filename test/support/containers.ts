import 'reflect-metadata';
import { registry } from '../../src/backends';
import { CertStore } from '../../src/core/cert-store';
import type { ResolvedConfig } from '../../src/core/config/load';
import { createContainer } from '../../src/core/container';
import type { PassphraseSource } from '../../src/core/secrets';
import { Signer } from '../../src/core/signer';

const noPassphrase: PassphraseSource = { get: () => undefined };

/** A backend's store, opened through the same container factory the CLI uses, with what its descriptor declares. */
export function openStore(config: ResolvedConfig, backend: string) {
  const d = registry.resolve(backend, 'test');
  const store = createContainer(config, noPassphrase, registry, { store: backend, signer: null }).get<CertStore>(CertStore);
  return { store, declared: d.capabilities.store };
}

/**
 * The container `--backend NAME` wires (or `signer: NAME` + `store: STORE` when `store` is
 * given), nothing resolved yet: a test can still wrap a transport
 * (`container.onActivation(VaultTransport, …)`) before it asks for the signer or the store.
 */
export function containerFor(config: ResolvedConfig, backend: string, passphrase = noPassphrase, store = backend) {
  return createContainer(config, passphrase, registry, { store, signer: backend });
}

/** A backend's signer and store from one container (the signer gets the store injected), as `--backend NAME` wires them. */
export function openSignerAndStore(config: ResolvedConfig, backend: string, passphrase = noPassphrase, store = backend) {
  const d = registry.resolve(backend, 'test');
  const container = containerFor(config, backend, passphrase, store);
  return { signer: container.get<Signer>(Signer), store: container.get<CertStore>(CertStore), declared: d.capabilities.signer, container };
}
