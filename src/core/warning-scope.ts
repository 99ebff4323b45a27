import { AsyncLocalStorage } from 'node:async_hooks';

const scope = new AsyncLocalStorage<string[]>();

/**
 * Runs `fn` with a warning buffer of its own: a signer that collects warnings from its backend
 * (Vault capping a TTL) puts them in the buffer of the operation that caused them, so two
 * requests served at once by one container (certctl serve) never get each other's warnings.
 * Outside any scope (one CLI command), the signer's own buffer is used as before.
 */
export function withOwnWarnings<T>(fn: () => Promise<T>): Promise<T> {
  return scope.run([], fn);
}

/** The warning buffer of the running operation, if it has one. */
export function scopedWarnings(): string[] | undefined {
  return scope.getStore();
}
