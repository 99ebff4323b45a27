/**
 * Coalesces concurrent reads of one value without ever answering a caller with a read that
 * started before it arrived: a caller joins the read queued to start once the running one ends,
 * never the running one (which may have read the store before a change the caller already knows
 * of). So many requests in flight cost at most one read in progress and one queued, per key, and
 * each still sees every change completed before it asked.
 */
export class FreshReads<T> {
  private readonly running = new Map<string, Promise<T>>();
  private readonly queued = new Map<string, Promise<T>>();

  constructor(private readonly read: (key: string) => Promise<T>) {}

  /** The value of `key` as read after this call; what `read` throws. */
  get(key: string): Promise<T> {
    if (!this.running.has(key)) return this.start(key);
    let next = this.queued.get(key);
    if (!next) {
      const settle = () => {
        this.queued.delete(key);
        return this.start(key);
      };
      next = (this.running.get(key) as Promise<T>).then(settle, settle);
      this.queued.set(key, next);
    }
    return next;
  }

  private start(key: string): Promise<T> {
    const reading = this.read(key).finally(() => {
      if (this.running.get(key) === reading) this.running.delete(key);
    });
    this.running.set(key, reading);
    return reading;
  }
}
