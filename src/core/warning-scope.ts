import type { AsyncLocalStorage } from 'node:async_hooks';

/** Made on the first scope: loading async_hooks and running under it costs a command ~0.8 ms. */
let scope: AsyncLocalStorage<string[]> | undefined;

/**
 * Runs `fn` with a warning buffer of its own: a signer that collects warnings from its backend
 * (Vault capping a TTL) puts them in the buffer of the operation that caused them, so two
 * requests served at once by one container (certctl serve) never get each other's warnings.
 * Outside any scope (one CLI command), the signer's own buffer is used as before.
 */
export function withOwnWarnings<T>(fn: () => Promise<T>): Promise<T> {
  scope ??= new (require('node:async_hooks') as typeof import('node:async_hooks')).AsyncLocalStorage<string[]>();
  return scope.run([], fn);
}

/** The warning buffer of the running operation, if it has one. */
export function scopedWarnings(): string[] | undefined {
  return scope?.getStore();
}
