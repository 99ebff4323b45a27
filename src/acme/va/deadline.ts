import type { ChallengeFailure } from './problems';

/**
 * One validation's time budget (ValidationSettings.timeoutMs), shared by its lookups, connections
 * and redirects so that a slow peer cannot hold a validation longer than the operator allowed.
 */
export class Deadline {
  /** Aborts when the budget is spent (for APIs that take a signal). */
  readonly signal: AbortSignal;
  private readonly end: number;

  constructor(readonly ms: number) {
    this.end = Date.now() + ms;
    this.signal = AbortSignal.timeout(ms);
  }

  /** Milliseconds left, at least 1 (a zero would mean "no timeout" to some APIs). */
  remaining(): number {
    return Math.max(1, this.end - Date.now());
  }

  /**
   * `work`'s outcome, or `failure()` as a rejection when the budget runs out first; `cancel` then
   * releases what `work` holds (a resolver's queries, a socket).
   */
  race<T>(work: Promise<T>, failure: () => ChallengeFailure, cancel?: () => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => {
        cancel?.();
        reject(failure());
      };
      if (this.signal.aborted) {
        onAbort();
        return;
      }
      this.signal.addEventListener('abort', onAbort, { once: true });
      const done = () => this.signal.removeEventListener('abort', onAbort);
      work.then(
        (value) => {
          done();
          resolve(value);
        },
        (err: Error) => {
          done();
          reject(err);
        },
      );
    });
  }
}
