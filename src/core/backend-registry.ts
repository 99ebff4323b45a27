import type { AnyBackend, BackendDescriptor } from './backend';
import { ConfigError, InternalError, InvalidInputError } from './errors';

/**
 * The backends certctl can use, by name and alias (smallstep's `cas/apiv1` registry). One
 * instance lives in src/backends/index.ts; tests register extra backends on it.
 */
export class BackendRegistry {
  private readonly byName = new Map<string, AnyBackend>();
  private readonly ordered: AnyBackend[] = [];

  constructor(descriptors: readonly AnyBackend[] = []) {
    for (const d of descriptors) this.register(d);
  }

  /**
   * Adds a backend.
   * @throws InternalError when one of its names or its config section is already taken.
   */
  register<O>(descriptor: BackendDescriptor<O>): void {
    for (const name of [descriptor.name, ...descriptor.aliases]) {
      if (this.byName.has(name)) throw new InternalError(`backend name "${name}" is registered twice`);
    }
    if (this.ordered.some((d) => d.section === descriptor.section)) {
      throw new InternalError(`config section "${descriptor.section}:" is claimed by two backends`);
    }
    for (const name of [descriptor.name, ...descriptor.aliases]) this.byName.set(name, descriptor);
    this.ordered.push(descriptor);
  }

  /** Removes a backend registered by a test. */
  unregister(name: string): void {
    const d = this.byName.get(name);
    if (!d) return;
    for (const n of [d.name, ...d.aliases]) this.byName.delete(n);
    this.ordered.splice(this.ordered.indexOf(d), 1);
  }

  /** The backend used when the configuration names none: the first registered (`file`, the embedded default). */
  get defaultName(): string {
    if (!this.ordered.length) throw new InternalError('no backend is registered');
    return this.ordered[0].name;
  }

  /** Every registered backend, in registration order. */
  all(): readonly AnyBackend[] {
    return this.ordered;
  }

  /** The config sections the backends own, for validating certctl.yaml's top level. */
  sections(): string[] {
    return this.ordered.map((d) => d.section);
  }

  /** `file|barbican|vault`, for help texts. */
  namesList(separator = '|'): string {
    return this.ordered.map((d) => d.name).join(separator);
  }

  /** The backends that can store, with their aliases (`file, barbican, vault/vault-kv/vault-pki`), for messages and help. */
  storeNames(): string {
    return this.ordered
      .filter((d) => d.provides.store)
      .map((d) => [d.name, ...d.aliases].join('/'))
      .join(', ');
  }

  /**
   * The backend a name or alias means.
   * @param origin where the name came from, for the message (`--backend`, `store in certctl.yaml`).
   * @param kind whether a bad name is the user's input on the command line (exit 2) or configuration (exit 3).
   * @throws ConfigError / InvalidInputError naming the origin and the accepted names.
   */
  resolve(name: string, origin: string, kind: 'config' | 'input' = 'config'): AnyBackend {
    const found = this.byName.get(name);
    if (found) return found;
    const accepted = this.ordered.map((d) => (d.aliases.length ? `${d.name} (or ${d.aliases.join(', ')})` : d.name)).join(', ');
    const message = `${origin}: unknown backend "${name}"; choose one of ${accepted}`;
    throw kind === 'input' ? new InvalidInputError(message) : new ConfigError(message);
  }
}
