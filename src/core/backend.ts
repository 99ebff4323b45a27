import type { ContainerModule } from 'inversify';
import type { ResolvedConfig } from './config/load';
import type { SignerCapability } from './signer';
import type { StoreCapability } from './cert-store';

/** Which halves of a backend a container uses: its CertStore, its Signer, or both. */
export interface BackendRoles {
  store: boolean;
  signer: boolean;
}

/**
 * Everything certctl knows about one backend; what a backend folder's index.ts exports
 * (DESIGN.md "Two interfaces, three backends"). The registry (src/backends/index.ts) lists the
 * descriptors; the core and the CLI only ever go through a descriptor, so a new backend is one
 * folder plus one line there (ARCHITECTURE.md "Adding a backend").
 *
 * A descriptor is loaded on every command, so its module keeps to names and option parsing and
 * loads its implementation inside {@link BackendDescriptor.module}.
 */
export interface BackendDescriptor<Options = unknown> {
  /** The canonical name, as `backend:`, `signer:`, `store:`, `--backend` and `migrate --from/--to` take it. */
  readonly name: string;
  /** Other names accepted everywhere the name is (e.g. `vault-kv` for the vault backend). */
  readonly aliases: readonly string[];
  /** One line for help texts: what it does and where the CA key lives. */
  readonly summary: string;
  /** The certctl.yaml key of its options (`vault:`); the core validates the rest of the file. */
  readonly section: string;
  /** Whether it provides a CertStore and/or a Signer. A backend that cannot sign gets the core's LocalSigner. */
  readonly provides: BackendRoles;
  /**
   * The optional capabilities its store and signer implement (detected at run time with the
   * guards of cert-store.ts and signer.ts; declared here so commands can refuse early, before any
   * connection, and so the contract tests can check the declaration against the objects).
   */
  readonly capabilities: { readonly store: readonly StoreCapability[]; readonly signer: readonly SignerCapability[] };
  /**
   * Its options from its section of certctl.yaml and the environment, defaults first.
   * @throws ConfigError naming the bad option path (e.g. `vault.pki_mount`).
   */
  parseOptions(config: ResolvedConfig): Options;
  /**
   * An inversify module binding what `roles` asks for: `CertStore` and/or `Signer` (as classes
   * whose dependencies are injected), plus the clients and options they share. Loaded once per
   * container, even when the backend is both signer and store.
   */
  module(options: Options, roles: BackendRoles): ContainerModule;
  /**
   * Where its store keeps things, for messages and to tell two stores apart (`migrate` refuses
   * to copy a store onto itself). Default: the backend's name, i.e. one store per backend.
   */
  location?(options: Options): string;
  /**
   * For a store kept in a directory: the configuration with the directory replaced, for
   * `migrate --from-dir/--to-dir`. Absent: the backend has no directory to point elsewhere.
   */
  withDirectory?(config: ResolvedConfig, dir: string): ResolvedConfig;
}

/** Any backend's descriptor, whatever its options type. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the registry holds descriptors of different option types
export type AnyBackend = BackendDescriptor<any>;
