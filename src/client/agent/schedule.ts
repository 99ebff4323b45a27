/**
 * When the renewal agent acts: the renewal point of a certificate (`--renew-before`), and how long it
 * waits after a failure (exponential backoff with jitter, capped). Pure functions: the loop in
 * run-agent.ts and the unit tests call them with their own clock and random source.
 */
import { parseDuration } from '../../core/duration';
import { InvalidInputError } from '../../core/errors';

/** `--renew-before`: a share of the certificate's lifetime left, or a fixed time before it expires. */
export type RenewBefore = { kind: 'share'; percent: number } | { kind: 'duration'; seconds: number };

/** The default: renew once less than a third of the lifetime is left (the server renews its own certificate at two thirds too). */
export const DEFAULT_RENEW_BEFORE = '33%';

/**
 * Parses `--renew-before`: `33%` (renew when less than 33% of the lifetime remains; `100%` renews at
 * once) or a duration such as `8h` or `30d` (renew when less than that remains).
 * @throws InvalidInputError for anything else, or a share outside (0, 100].
 */
export function parseRenewBefore(text: string): RenewBefore {
  const share = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(text);
  if (share) {
    const percent = Number(share[1]);
    if (!(percent > 0 && percent <= 100)) throw new InvalidInputError(`--renew-before: ${text} is not a share between 0% and 100%`);
    return { kind: 'share', percent };
  }
  if (/^\s*\d+\s*$/.test(text)) throw new InvalidInputError(`--renew-before: "${text}" needs a unit: a share such as 33% or a duration such as 8h`);
  return { kind: 'duration', seconds: parseDuration(text, '--renew-before') };
}

/** The moment a certificate valid from `notBefore` to `notAfter` becomes due for renewal. */
export function renewalPoint(notBefore: Date, notAfter: Date, before: RenewBefore): Date {
  const end = notAfter.getTime();
  const lead = before.kind === 'share' ? ((end - notBefore.getTime()) * before.percent) / 100 : before.seconds * 1000;
  return new Date(end - lead);
}

/** The first wait after a retryable failure; doubled per failure. */
export const BACKOFF_BASE_MS = 1000;
/** The longest wait between attempts, and the wait after a failure that retrying soon cannot fix (401, 403, bad files). */
export const BACKOFF_CAP_MS = 5 * 60_000;

/**
 * How long to wait before the next attempt after `failures` failures in a row (1 for the first):
 * retryable failures (server down, 5xx, 429, network) back off exponentially from one second up to
 * {@link BACKOFF_CAP_MS}; the others (refused certificate, policy, unreadable files) wait the cap at
 * once, since only a person (or a replaced file) can fix them. The wait is drawn from the upper half
 * of the step ("equal jitter"), so agents that failed together do not retry together, yet none
 * retries much sooner than the step says.
 */
export function backoffMs(failures: number, retryable: boolean, random: () => number = Math.random): number {
  const step = retryable ? Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, Math.min(failures - 1, 30))) : BACKOFF_CAP_MS;
  return Math.round(step / 2 + (random() * step) / 2);
}

/**
 * The earliest time a certificate renewed at `renewedAt` is renewed again, when it is due at once:
 * a `--renew-before` that covers (nearly) the whole lifetime (`100%`, or `8h` for a 2-hour
 * certificate) would otherwise make the foreground agent renew in a loop, so it keeps at least a
 * tenth of the new certificate's lifetime (and 10 s) between renewals.
 */
export function earliestNextRenewal(renewedAt: Date, notBefore: Date, notAfter: Date): Date {
  const lifetime = notAfter.getTime() - notBefore.getTime();
  return new Date(renewedAt.getTime() + Math.max(10_000, lifetime / 10));
}
