/**
 * inversify tokens of the Vault backend that have no interface of the same name to live beside.
 * Kept apart from index.ts so the classes can inject them without importing the descriptor.
 */

/**
 * The HttpTransport the Vault client sends through: fault-injection tests and the benchmarks wrap
 * it with `container.onActivation(VaultTransport, …)`.
 */
export const VaultTransport = Symbol.for('certctl.vault.VaultTransport');

/** How long a KV rollback keeps trying while Vault is unreachable or sealed (ms). */
export const RollbackWindowMs = Symbol.for('certctl.vault.RollbackWindowMs');
