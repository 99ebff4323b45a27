import type { ContainerModule } from 'inversify';
import type { ResolvedConfig } from './config/load';

/**
 * What a backend folder's index.ts exports (DESIGN.md "Two interfaces, three backends").
 * Choosing a backend means loading its module; the core never imports a backend.
 */
export interface BackendDescriptor {
  /** The type name used by `backend:`, `signer:`, `store:` and `--backend`. */
  name: string;
  /**
   * A module binding `CertStore`, built from this backend's section of certctl.yaml.
   * @throws ConfigError naming the bad option path (e.g. `file.dir`).
   */
  storeModule?(config: ResolvedConfig): ContainerModule;
  /**
   * A module binding `Signer`. Absent: the backend cannot sign, and the core's
   * LocalSigner signs with the CA key its store keeps.
   */
  signerModule?(config: ResolvedConfig): ContainerModule;
}
