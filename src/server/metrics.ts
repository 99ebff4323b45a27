import type { Counter, Histogram, Registry } from 'prom-client';

/**
 * The server's Prometheus metrics (prom-client, its own registry so nothing global leaks in):
 * certificates issued and revoked, errors by the CLI's error code, request latency by route and
 * backend-call latency by operation.
 */
export class ServerMetrics {
  readonly registry: Registry;
  readonly issued: Counter<'ca' | 'profile'>;
  readonly revoked: Counter<'ca'>;
  readonly errors: Counter<'code'>;
  readonly requests: Histogram<'method' | 'route' | 'status'>;
  readonly backendCalls: Histogram<'role' | 'operation'>;

  constructor() {
    const prom = require('prom-client') as typeof import('prom-client');
    this.registry = new prom.Registry();
    const registers = [this.registry];
    this.issued = new prom.Counter({ name: 'certctl_certificates_issued_total', help: 'Certificates issued', labelNames: ['ca', 'profile'], registers });
    this.revoked = new prom.Counter({ name: 'certctl_certificates_revoked_total', help: 'Certificates revoked', labelNames: ['ca'], registers });
    this.errors = new prom.Counter({ name: 'certctl_errors_total', help: 'Failed requests by certctl error code', labelNames: ['code'], registers });
    this.requests = new prom.Histogram({
      name: 'certctl_http_request_duration_seconds',
      help: 'HTTP request latency',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.backendCalls = new prom.Histogram({
      name: 'certctl_backend_call_duration_seconds',
      help: 'Latency of calls to the signer and the store',
      labelNames: ['role', 'operation'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    prom.collectDefaultMetrics({ register: this.registry, prefix: 'certctl_process_' });
  }

  /**
   * Wraps a backend object so every method call that returns a promise is timed under `role`:
   * capability guards still see the same members (a Proxy forwards every property).
   */
  timed<T extends object>(target: T, role: 'signer' | 'store'): T {
    const histogram = this.backendCalls;
    return new Proxy(target, {
      get(obj, prop, receiver) {
        const value: unknown = Reflect.get(obj, prop, receiver);
        if (typeof value !== 'function' || typeof prop !== 'string' || prop === 'constructor') return value;
        return function (this: unknown, ...args: unknown[]) {
          const result: unknown = (value as (...a: unknown[]) => unknown).apply(obj, args);
          if (!(result instanceof Promise)) return result;
          const end = histogram.startTimer({ role, operation: prop });
          return result.finally(() => end());
        };
      },
    });
  }
}
