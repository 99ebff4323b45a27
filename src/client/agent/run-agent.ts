/**
 * `certctl agent`: one check (`--once`, for cron and systemd timers) or the foreground loop that
 * sleeps until the renewal point, renews, runs the hook, and backs off on errors.
 */
import { resolve } from 'node:path';
import { toCertctlError } from '../../core/errors';
import type { AgentLog } from './agent-log';
import { readCredentials, type Credentials } from './credentials';
import { hookSucceeded, runHook, type HookResult } from './hook';
import { renewCredentials, type RenewalTarget, type Renewed } from './renewal';
import { backoffMs, earliestNextRenewal, renewalPoint, type RenewBefore } from './schedule';

/** Everything the agent was told. */
export interface AgentOptions extends RenewalTarget {
  renewBefore: RenewBefore;
  /** `--renew-before` as given, for the log. */
  renewBeforeText: string;
  /** The hook: a shell command run after each renewal. */
  exec?: string;
  execTimeoutMs: number;
}

/** The longest sleep: the files are read again at least this often, in case someone replaced them. */
export const MAX_SLEEP_MS = 60 * 60_000;

/** What `--once` did, as `--json` prints it. */
export interface OnceResult {
  renewed: boolean;
  serial: string;
  previous?: string;
  notAfter: string;
  renewAt: string;
  hook?: { exitCode: number | null; signal: string | null; timedOut: boolean };
}

/**
 * One check: read the files, renew if the certificate is due, run the hook after a renewal.
 * @throws what {@link readCredentials} and {@link renewCredentials} throw; a failing hook is not an error (see `hook` in the result).
 */
export async function checkOnce(options: AgentOptions, log: AgentLog): Promise<OnceResult> {
  const current = readCredentials(options.files, options.caGiven);
  const renewAt = renewalPoint(current.notBefore, current.notAfter, options.renewBefore);
  if (Date.now() < renewAt.getTime()) {
    logSchedule(log, current, renewAt, 'not due yet');
    return { renewed: false, serial: current.serial, notAfter: current.notAfter.toISOString(), renewAt: renewAt.toISOString() };
  }
  const renewed = await renewAndLog(options, log, current);
  const hook = options.exec ? await hookAndLog(options, log, renewed.current, renewed.previous) : undefined;
  const next = renewed.current;
  return {
    renewed: true,
    serial: next.serial,
    previous: renewed.previous,
    notAfter: next.notAfter.toISOString(),
    renewAt: renewalPoint(next.notBefore, next.notAfter, options.renewBefore).toISOString(),
    ...(hook ? { hook: { exitCode: hook.exitCode, signal: hook.signal, timedOut: hook.timedOut } } : {}),
  };
}

/**
 * The foreground agent, until `stop` is aborted (SIGTERM): each wake reads the files again, renews
 * when due, runs the hook, and sleeps until the renewal point (at most {@link MAX_SLEEP_MS}).
 *
 * Failures never end it. Retryable ones (server down or restarting, 5xx, 429, network) are retried
 * with exponential backoff and jitter, capped; the others (the certificate revoked or unknown to the
 * server: 401; refused by policy: 403; a file missing or not matching) are logged as errors and
 * retried at the cap — they need a person, and the agent picks up the fix (a re-enrollment writing
 * new files, a restored server store) by itself at its next wake. A hook that fails is run again
 * with the same backoff until it succeeds or the certificate is replaced, since the service it
 * reloads still holds the old certificate.
 * Resolves when stopped; an in-flight renewal finishes first (its request is bounded by the timeout).
 * @throws only at start, what {@link readCredentials} throws: missing, unreadable or mismatched files.
 */
export async function runAgent(options: AgentOptions, log: AgentLog, stop: AbortSignal): Promise<void> {
  log.info('start', `certctl agent: keeping ${options.files.cert} renewed through ${options.server}`, {
    server: options.server,
    cert: resolve(options.files.cert),
    key: resolve(options.files.key),
    ca: resolve(options.files.ca),
    renewBefore: options.renewBeforeText,
    hook: Boolean(options.exec),
  });
  // A wrong path or a mismatched pair at start is a mistake in the flags or the files: said at once, not retried.
  readCredentials(options.files, options.caGiven);
  const state: LoopState = { failures: 0, logged: '' };
  while (!stop.aborted) {
    const wait = await step(options, log, state);
    await sleep(wait, stop);
  }
  log.info('stop', 'stopped (signal)');
}

/** What the loop remembers between wakes. */
interface LoopState {
  /** Failures in a row, for the backoff. */
  failures: number;
  /** The schedule last logged, so a wake that changes nothing logs nothing. */
  logged: string;
  /** The serial whose hook has not succeeded yet. */
  hookPending?: string;
  /** No renewal before this (see earliestNextRenewal). */
  notBefore?: Date;
}

/** One wake of the loop; returns how long to sleep. Never throws: an error is logged and backed off. */
async function step(options: AgentOptions, log: AgentLog, state: LoopState): Promise<number> {
  try {
    let current = readCredentials(options.files, options.caGiven);
    if (state.hookPending !== current.serial) state.hookPending = undefined;
    const due = renewalPoint(current.notBefore, current.notAfter, options.renewBefore);
    const renewAt = state.notBefore && state.notBefore > due ? state.notBefore : due;
    if (Date.now() >= renewAt.getTime()) {
      const renewed = await renewAndLog(options, log, current);
      current = renewed.current;
      state.hookPending = options.exec ? current.serial : undefined;
      state.notBefore = undefined;
      if (renewalPoint(current.notBefore, current.notAfter, options.renewBefore).getTime() <= Date.now()) {
        state.notBefore = earliestNextRenewal(new Date(), current.notBefore, current.notAfter);
        log.warn(
          'schedule',
          `--renew-before ${options.renewBeforeText} makes the renewed certificate due at once; renewing it no sooner than ${state.notBefore.toISOString()}`,
        );
      }
    }
    if (state.hookPending && options.exec) {
      const hook = await hookAndLog(options, log, current);
      if (!hookSucceeded(hook)) return backoffMs(++state.failures, true);
      state.hookPending = undefined;
    }
    state.failures = 0;
    const next = maxDate(renewalPoint(current.notBefore, current.notAfter, options.renewBefore), state.notBefore);
    const key = `${current.serial}@${next.toISOString()}`;
    if (key !== state.logged) logSchedule(log, current, next, 'next renewal');
    state.logged = key;
    return Math.min(MAX_SLEEP_MS, Math.max(0, next.getTime() - Date.now()));
  } catch (err) {
    const e = toCertctlError(err);
    const wait = backoffMs(++state.failures, e.retryable);
    state.logged = '';
    log.error('error', e.message, {
      code: e.code,
      exitCode: e.exitCode,
      retryable: e.retryable,
      failures: state.failures,
      retryInSeconds: Math.round(wait / 1000),
    });
    return wait;
  }
}

async function renewAndLog(options: AgentOptions, log: AgentLog, current: Credentials): Promise<Renewed> {
  const renewed = await renewCredentials(options, current);
  const next = renewed.current;
  log.info('renewed', `renewed ${renewed.previous} as ${next.serial} (valid until ${next.notAfter.toISOString()}); replaced ${renewed.written.join(', ')}`, {
    serial: next.serial,
    previous: renewed.previous,
    notAfter: next.notAfter.toISOString(),
    files: renewed.written,
    ...(renewed.warnings.length ? { warnings: renewed.warnings } : {}),
  });
  return renewed;
}

/** Runs `--exec` with the new files' facts in its environment, and logs how it ended. */
async function hookAndLog(options: AgentOptions, log: AgentLog, current: Credentials, previous?: string): Promise<HookResult> {
  const result = await runHook(
    options.exec as string,
    {
      CERTCTL_CERT_FILE: resolve(options.files.cert),
      CERTCTL_KEY_FILE: resolve(options.files.key),
      CERTCTL_CA_FILE: resolve(options.files.ca),
      CERTCTL_SERIAL: current.serial,
      CERTCTL_NOT_AFTER: current.notAfter.toISOString(),
      ...(previous ? { CERTCTL_PREVIOUS_SERIAL: previous } : {}),
    },
    options.execTimeoutMs,
  );
  const fields = { exitCode: result.exitCode, signal: result.signal, timedOut: result.timedOut, ms: result.ms, serial: current.serial };
  if (hookSucceeded(result)) log.info('hook', `--exec ran for ${current.serial} (exit status 0)`, fields);
  else {
    const how = result.timedOut
      ? `timed out after ${options.execTimeoutMs / 1000}s and was stopped`
      : result.signal
        ? `was ended by ${result.signal}`
        : `exited with status ${result.exitCode}`;
    log.error('hook', `--exec ${how}; the renewed files stay in place, but whatever it reloads may still use the old certificate`, {
      ...fields,
      output: result.output,
    });
  }
  return result;
}

function logSchedule(log: AgentLog, current: Credentials, renewAt: Date, what: string): void {
  log.info('schedule', `certificate ${current.serial} is valid until ${current.notAfter.toISOString()}; ${what}: ${renewAt.toISOString()}`, {
    serial: current.serial,
    notAfter: current.notAfter.toISOString(),
    renewAt: renewAt.toISOString(),
  });
}

function maxDate(a: Date, b: Date | undefined): Date {
  return b && b > a ? b : a;
}

/** Sleeps `ms`, or less when `stop` is aborted. */
function sleep(ms: number, stop: AbortSignal): Promise<void> {
  if (stop.aborted) return Promise.resolve();
  return new Promise((done) => {
    const timer = setTimeout(finish, ms);
    function finish() {
      clearTimeout(timer);
      stop.removeEventListener('abort', finish);
      done();
    }
    stop.addEventListener('abort', finish);
  });
}
