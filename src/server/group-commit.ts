import type { CertStore } from '../core/cert-store';
import type { IssuedCertificate } from '../core/types';

interface Pending {
  items: IssuedCertificate[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit for a server's store: requests served at once each store one certificate; while one
 * `putIssued` of a CA is being written, the certificates that arrive meanwhile wait and are then
 * written together, in one call — one lock and one set of flushes for the batch instead of one per
 * request (the file store's fsyncs dominate a signature's cost). `putIssued` is all or nothing, so a
 * failed batch fails each of its requests and stores none of them. Every other member of the store
 * is passed through untouched (a Proxy), so its capabilities are still found.
 */
export function groupCommitting<S extends CertStore>(store: S): S {
  const queues = new Map<string, { writing: boolean; waiting: Pending[] }>();

  const flush = async (ca: string): Promise<void> => {
    const queue = queues.get(ca)!;
    while (queue.waiting.length > 0) {
      const batch = queue.waiting.splice(0);
      queue.writing = true;
      try {
        await store.putIssued(
          ca,
          batch.flatMap((p) => p.items),
        );
        batch.forEach((p) => p.resolve());
      } catch (err) {
        batch.forEach((p) => p.reject(err));
      } finally {
        queue.writing = false;
      }
    }
    queues.delete(ca);
  };

  const putIssued = (ca: string, items: IssuedCertificate[]): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      let queue = queues.get(ca);
      if (!queue) {
        queue = { writing: false, waiting: [] };
        queues.set(ca, queue);
      }
      queue.waiting.push({ items, resolve, reject });
      // The first arrival starts the writer; later ones join the batch it takes next.
      if (queue.waiting.length === 1 && !queue.writing) void flush(ca);
    });

  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'putIssued') return putIssued;
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
