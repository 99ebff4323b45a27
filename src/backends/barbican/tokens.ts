/**
 * inversify tokens of the Barbican backend that have no interface of the same name to live beside.
 * Kept apart from index.ts so the classes can inject them without importing the descriptor.
 */

/**
 * The HttpTransport the Barbican and Keystone clients send through: fault-injection tests and the
 * benchmarks wrap it with `container.onActivation(BarbicanTransport, …)`.
 */
export const BarbicanTransport = Symbol.for('certctl.barbican.BarbicanTransport');

/** How long a rollback keeps trying to delete what it created while Barbican is unreachable (ms). */
export const RollbackWindowMs = Symbol.for('certctl.barbican.RollbackWindowMs');
