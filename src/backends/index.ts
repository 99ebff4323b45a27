import type { BackendDescriptor } from '../core/backend';
import { ConfigError, NotSupportedError } from '../core/errors';

/** Backends certctl knows, loaded on demand so a command pays only for the one it uses. */
const LOADERS: Record<string, () => BackendDescriptor> = {
  file: () => require('./file').fileBackend,
  barbican: () => require('./barbican').barbicanBackend,
};
const PLANNED = ['vault'];

/**
 * The descriptor of a backend by name.
 * @throws ConfigError for an unknown name (naming where it came from); NotSupportedError for a backend not built yet.
 */
export function loadBackend(name: string, origin: string): BackendDescriptor {
  const loader = LOADERS[name];
  if (loader) return loader();
  if (PLANNED.includes(name)) throw new NotSupportedError(`${origin}: the ${name} backend is not available in this build of certctl yet; use file`);
  throw new ConfigError(`${origin}: unknown backend "${name}"; choose one of ${[...Object.keys(LOADERS), ...PLANNED].join(', ')}`);
}
