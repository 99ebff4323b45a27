import 'reflect-metadata';
import { Container, ContainerModule } from 'inversify';
import type { BackendDescriptor } from './backend';
import { CertStore } from './cert-store';
import { ResolvedConfig } from './config/load';
import { ConfigError } from './errors';
import { IssuanceService } from './issuance-service';
import { LocalSigner } from './local-signer';
import { PassphraseSource } from './secrets';
import { Signer } from './signer';

/**
 * Builds the container: the core module plus the chosen backends' modules.
 * @throws ConfigError when the store backend cannot store or the signer backend has no module.
 */
export function createContainer(
  config: ResolvedConfig,
  passphrase: PassphraseSource,
  backends: { signer: BackendDescriptor; store: BackendDescriptor },
): Container {
  const container = new Container({ defaultScope: 'Singleton' });
  const core = new ContainerModule(({ bind }) => {
    bind(ResolvedConfig).toConstantValue(config);
    bind(PassphraseSource).toConstantValue(passphrase);
    bind(IssuanceService).toSelf();
  });
  if (!backends.store.storeModule) {
    throw new ConfigError(`store: the ${backends.store.name} backend cannot store certificates; choose file, vault or barbican`);
  }
  const modules = [core, backends.store.storeModule(config)];
  if (backends.signer.signerModule) {
    modules.push(backends.signer.signerModule(config));
  } else {
    modules.push(new ContainerModule(({ bind }) => void bind(Signer).to(LocalSigner)));
  }
  container.loadSync(...modules);
  // A remote signer that needs the store (Vault revoking a certificate it did not sign, e.g. one
  // signed before `migrate --import-ca-key` moved the CA key into it) gets the configured one.
  if (backends.signer.signerModule) {
    container.get<Signer>(Signer).attachStore?.(container.get<CertStore>(CertStore));
  }
  return container;
}
