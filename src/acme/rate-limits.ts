import { AcmeError } from './problems';

/**
 * ACME's rate limits: new orders per account per hour and certificates per name per week, counted
 * in this process (each instance of a multi-instance deployment counts its own: the limits are
 * abuse brakes, not quotas, and a shared counter would cost a backend write per request).
 */
export class RateLimits {
  private readonly events = new Map<string, number[]>();

  /**
   * Counts one event under `key` and refuses it past `max` within `windowMs`.
   * @throws AcmeError rateLimited (429) with Retry-After, naming the limit.
   */
  take(key: string, max: number, windowMs: number, what: string, now = Date.now()): void {
    const kept = (this.events.get(key) ?? []).filter((t) => t > now - windowMs);
    if (kept.length >= max) {
      const retryAfter = Math.max(1, Math.ceil((kept[0] + windowMs - now) / 1000));
      this.events.set(key, kept);
      throw new AcmeError(
        'rateLimited',
        `${what}: at most ${max} per ${windowMs >= 86400_000 ? `${Math.round(windowMs / 86400_000)} days` : `${Math.round(windowMs / 3600_000)} h`}; retry after ${retryAfter} s`,
        {
          headers: { 'retry-after': String(retryAfter) },
        },
      );
    }
    kept.push(now);
    this.events.set(key, kept);
    if (this.events.size > 100_000) this.events.delete(this.events.keys().next().value as string);
  }
}
