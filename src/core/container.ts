import 'reflect-metadata';
import { Container, ContainerModule } from 'inversify';
import type { AnyBackend, BackendRoles } from './backend';
import type { BackendRegistry } from './backend-registry';
import { CaKeys, StoreCaKeys } from './ca-keys';
import { ResolvedConfig } from './config/load';
import { ConfigError } from './errors';
import { IssuanceService } from './issuance-service';
import { LocalSigner } from './local-signer';
import { PassphraseSource } from './secrets';
import { Signer } from './signer';

/** Which backends a container binds; by default the configuration's `signer` and `store`. */
export interface BackendSelection {
  /** Name or alias of the backend whose CertStore is bound. */
  store?: string;
  /**
   * Name or alias of the backend whose Signer is bound (the core's LocalSigner when that backend
   * cannot sign); `null` for a container with a store only (`migrate`'s source and target).
   */
  signer?: string | null;
}

/**
 * The composition root: one container per configuration, holding the core module and the chosen
 * backends' modules, every object a singleton of that container. Commands build one per run;
 * a server builds one per configuration and reuses it for every request.
 * @throws ConfigError for an unknown backend name (naming where it came from), a store backend
 *   that cannot store, or a bad backend section (naming the option path).
 */
export function createContainer(config: ResolvedConfig, passphrase: PassphraseSource, registry: BackendRegistry, selection: BackendSelection = {}): Container {
  // A name from a flag is the user's input (exit 2); from the environment or certctl.yaml, configuration (exit 3).
  const kindOf = (origin: string) => (origin.startsWith('--') ? 'input' : 'config');
  const storeOrigin = selection.store ? 'store' : config.origins.store;
  const store = registry.resolve(selection.store ?? config.store ?? registry.defaultName, storeOrigin, kindOf(storeOrigin));
  if (!store.provides.store) {
    throw new ConfigError(`${storeOrigin}: the ${store.name} backend cannot store certificates; choose ${registry.storeNames()}`);
  }
  const signerName = selection.signer === undefined ? (config.signer ?? registry.defaultName) : selection.signer;
  const signerOrigin = selection.signer ? 'signer' : config.origins.signer;
  const signer = signerName === null ? undefined : registry.resolve(signerName, signerOrigin, kindOf(signerOrigin));

  const roles = new Map<AnyBackend, BackendRoles>([[store, { store: true, signer: false }]]);
  if (signer?.provides.signer) roles.set(signer, { store: roles.has(signer), signer: true });

  const container = new Container({ defaultScope: 'Singleton' });
  const modules = [
    new ContainerModule(({ bind }) => {
      bind(ResolvedConfig).toConstantValue(config);
      bind(PassphraseSource).toConstantValue(passphrase);
      if (signer) bind(IssuanceService).toSelf();
      if (signer && !signer.provides.signer) bind(Signer).to(LocalSigner);
    }),
    // Options are parsed before anything connects, so a bad section fails first.
    ...[...roles].map(([backend, r]) => backend.module(backend.parseOptions(config), r)),
  ];
  container.loadSync(...modules);
  // LocalSigner's key source: the store's keys, unless the signer's backend bound its own (a token).
  if (signer && !container.isBound(CaKeys)) container.bind(CaKeys).to(StoreCaKeys);
  return container;
}
