import { join } from 'node:path';
import * as lockfile from 'proper-lockfile';
import { BackendUnavailableError, withContext, type CertctlError } from '../../core/errors';

/** After this long a lock is stale: another process takes it over (proper-lockfile checks its mtime). */
const STALE_MS = 30_000;

/**
 * Runs `fn` holding the lock of one CA directory (`<dir>/.lock`, a directory made by
 * proper-lockfile), so two certctl processes never append to one CA at once. `translate`
 * turns a file-system error into certctl's kinds (fs-errors.ts) so a lock that cannot be
 * released can be named in the error that reaches the operator.
 * @throws BackendUnavailableError when another process holds the lock past the retries; the
 *   lock's file-system errors untranslated (the caller translates them); `fn`'s errors, translated.
 */
export async function underCaLock<T>(dir: string, ca: string, fn: () => T, translate: (err: unknown) => CertctlError): Promise<T> {
  return underLock(dir, join(dir, '.lock'), `CA "${ca}"`, fn, translate);
}

/**
 * Runs `fn` holding the lock `lockPath` of `target` (a CA directory, a state record), as
 * {@link underCaLock} describes; `what` names the target in messages.
 * @throws as {@link underCaLock}.
 */
export async function underLock<T>(target: string, lockPath: string, what: string, fn: () => T, translate: (err: unknown) => CertctlError): Promise<T> {
  const turn = await waitTurn(lockPath);
  try {
    return await lockedByFile(target, lockPath, what, fn, translate);
  } finally {
    turn();
  }
}

/**
 * Callers in this process wait for the lock in line, here, instead of each polling the lock
 * directory with growing pauses (a server runs many requests at once: polling made them wait up
 * to 250 ms for a lock freed long before). Returns the function that lets the next one in.
 */
const inProcess = new Map<string, Promise<void>>();
async function waitTurn(lockPath: string): Promise<() => void> {
  const before = inProcess.get(lockPath);
  let done!: () => void;
  const mine = new Promise<void>((resolve) => (done = resolve));
  const tail = (before ?? Promise.resolve()).then(() => mine);
  inProcess.set(lockPath, tail);
  await before;
  return () => {
    done();
    if (inProcess.get(lockPath) === tail) inProcess.delete(lockPath);
  };
}

async function lockedByFile<T>(target: string, lockPath: string, what: string, fn: () => T, translate: (err: unknown) => CertctlError): Promise<T> {
  const release = await acquire(target, lockPath, what);
  let value: T;
  try {
    value = fn();
  } catch (err) {
    const failure = translate(err);
    const stuck = await releaseOrName(release, lockPath);
    throw stuck ? withContext(failure, `${failure.message}; ${stuck.message}`) : failure;
  }
  const stuck = await releaseOrName(release, lockPath);
  if (stuck) throw withContext(translate(stuck.error), `the change to ${what} was made, but ${stuck.message}`);
  return value;
}

/** Waits for a lock held by another process: 200 tries, 5 ms growing by 1.3x to 250 ms apart (~47 s in all). */
const LOCK_TRIES = 200;
const lockPause = (attempt: number) => Math.min(5 * 1.3 ** attempt, 250);

/**
 * Takes the lock, waiting only while another process holds it. proper-lockfile's own retries
 * would repeat any failure, so a lock that cannot be created (EACCES) would be retried for
 * ~47 s and then look like contention; here it is thrown at once.
 */
async function acquire(target: string, lockPath: string, what: string): Promise<() => Promise<void>> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await lockfile.lock(target, { lockfilePath: lockPath, realpath: false, stale: STALE_MS });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw err;
      if (attempt + 1 >= LOCK_TRIES) {
        throw new BackendUnavailableError(`${what} in the file store is locked by another certctl process (${lockPath}); try again`, { cause: err });
      }
      await new Promise((resolve) => setTimeout(resolve, lockPause(attempt)));
    }
  }
}

/** Releases the lock; when that fails, says which lock is left and what becomes of it. */
async function releaseOrName(release: () => Promise<void>, lockPath: string): Promise<{ error: unknown; message: string } | undefined> {
  try {
    await release();
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    return {
      error,
      message: `the lock ${lockPath} could not be removed (${code}): other certctl processes take it over after ${STALE_MS / 1000} s, or remove it now with rmdir '${lockPath}'`,
    };
  }
}
