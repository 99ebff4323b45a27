import type { BackendDescriptor } from '../core/backend';
import { ConfigError } from '../core/errors';

/** Backends certctl knows, loaded on demand so a command pays only for the one it uses. */
const LOADERS: Record<string, () => BackendDescriptor> = {
  file: () => require('./file').fileBackend,
  barbican: () => require('./barbican').barbicanBackend,
  vault: () => require('./vault').vaultBackend,
};

/**
 * The descriptor of a backend by name.
 * @throws ConfigError for an unknown name, naming where it came from.
 */
export function loadBackend(name: string, origin: string): BackendDescriptor {
  const loader = LOADERS[name];
  if (loader) return loader();
  throw new ConfigError(`${origin}: unknown backend "${name}"; choose one of ${Object.keys(LOADERS).join(', ')}`);
}
