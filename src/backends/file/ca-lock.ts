import { mkdirSync, rmdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BackendUnavailableError, withContext, type CertctlError } from '../../core/errors';
import { isMissing } from './fs-errors';

/** After this long a lock is stale: another process takes it over (judged by the lock directory's mtime). */
const STALE_MS = 30_000;

/**
 * Runs `fn` holding the lock of one CA directory (`<dir>/.lock`), so two certctl processes never
 * append to one CA at once. The lock is a directory made with mkdir(2), which only one process
 * can create; one left older than 30 s is stale and taken over. That is the protocol of
 * proper-lockfile, which certctl used before, so older certctl processes and this one exclude
 * each other. Taking and releasing an uncontended lock is two system calls, done synchronously;
 * the library cost a module load and thread-pool round trips on every command.
 * `translate` turns a file-system error into certctl's kinds (fs-errors.ts) so a lock that cannot
 * be released can be named in the error that reaches the operator.
 * @throws BackendUnavailableError when another process holds the lock past the retries; the
 *   lock's file-system errors untranslated (the caller translates them); `fn`'s errors, translated.
 */
export async function underCaLock<T>(dir: string, ca: string, fn: () => T | Promise<T>, translate: (err: unknown) => CertctlError): Promise<T> {
  return underLock(join(dir, '.lock'), `CA "${ca}"`, fn, translate);
}

/**
 * Runs `fn` holding the lock directory `lockPath` (of a CA directory, a state record), as
 * {@link underCaLock} describes; `what` names what it guards in messages.
 * @throws as {@link underCaLock}.
 */
export async function underLock<T>(lockPath: string, what: string, fn: () => T | Promise<T>, translate: (err: unknown) => CertctlError): Promise<T> {
  const turn = await waitTurn(lockPath);
  try {
    return await lockedByDirectory(lockPath, what, fn, translate);
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

async function lockedByDirectory<T>(lockPath: string, what: string, fn: () => T | Promise<T>, translate: (err: unknown) => CertctlError): Promise<T> {
  if (!tryLock(lockPath)) await waitForLock(lockPath, what);
  held.add(lockPath);
  let value: T;
  try {
    value = await fn();
  } catch (err) {
    const failure = translate(err);
    const stuck = releaseOrName(lockPath);
    throw stuck ? withContext(failure, `${failure.message}; ${stuck.message}`) : failure;
  }
  const stuck = releaseOrName(lockPath);
  if (stuck) throw withContext(translate(stuck.error), `the change to ${what} was made, but ${stuck.message}`);
  return value;
}

/** Waits for a lock held by another process: 200 tries, 5 ms growing by 1.3x to 250 ms apart (~47 s in all). */
const LOCK_TRIES = 200;
const lockPause = (attempt: number) => Math.min(5 * 1.3 ** attempt, 250);

/**
 * Waits while another process holds the lock. Only contention is retried: a lock that cannot be
 * created (EACCES) is thrown at once, not retried for ~47 s to then look like contention.
 */
async function waitForLock(lockPath: string, what: string): Promise<void> {
  for (let attempt = 0; attempt + 1 < LOCK_TRIES; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, lockPause(attempt)));
    if (tryLock(lockPath)) return;
  }
  throw new BackendUnavailableError(`${what} in the file store is locked by another certctl process (${lockPath}); try again`);
}

/**
 * One attempt: creates the lock directory, or takes over a stale one. False while another
 * process holds it. Two processes finding the same stale lock may both remove it; each then
 * competes for a fresh mkdir, which only one wins (as with proper-lockfile, a process that
 * removes a lock the other has just re-created in between is not excluded: staleness is a
 * 30 s judgement for crashed holders, not a second lock).
 * @throws the fs error of anything but "already exists".
 */
function tryLock(lockPath: string, takeOver = true): boolean {
  try {
    mkdirSync(lockPath);
    installSignalRelease();
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  if (!takeOver) return false;
  let mtimeMs: number;
  try {
    mtimeMs = statSync(lockPath).mtimeMs;
  } catch (err) {
    // Released meanwhile: try once more.
    if (isMissing(err)) return tryLock(lockPath, false);
    throw err;
  }
  if (mtimeMs >= Date.now() - STALE_MS) return false;
  removeLock(lockPath);
  return tryLock(lockPath, false);
}

/** Removes a lock directory; one already gone (its CA directory was deleted or moved) is fine. */
function removeLock(lockPath: string): void {
  try {
    rmdirSync(lockPath);
  } catch (err) {
    if (!isMissing(err)) throw err;
  }
}

/** Locks this process holds now. */
const held = new Set<string>();

/** Releases the lock; when that fails, says which lock is left and what becomes of it. */
function releaseOrName(lockPath: string): { error: unknown; message: string } | undefined {
  held.delete(lockPath);
  try {
    removeLock(lockPath);
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    return {
      error,
      message: `the lock ${lockPath} could not be removed (${code}): other certctl processes take it over after ${STALE_MS / 1000} s, or remove it now with rmdir '${lockPath}'`,
    };
  }
}

/** The signals that end certctl by default (Ctrl-C, kill, a closed terminal). */
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
let signalsInstalled = false;

/**
 * Makes sure a signal never leaves a lock behind, for the 30 s other processes would wait before
 * taking it over: when nothing else in the process listens to the signal (a server has its own
 * shutdown), the listener removes the locks held and ends the process with the signal, as the
 * default action would. Work cut short under the lock is what a crash leaves, which the store is
 * built to survive (unreferenced packs, a torn last inventory line, an index that does not match).
 * A process that exits otherwise (process.exit) removes its locks on `exit`.
 */
function installSignalRelease(): void {
  if (signalsInstalled) return;
  signalsInstalled = true;
  const releaseAll = () => {
    for (const lockPath of held) {
      try {
        rmdirSync(lockPath);
      } catch {
        // Exiting anyway: a lock that cannot be removed goes stale after 30 s.
      }
    }
    held.clear();
  };
  process.on('exit', releaseAll);
  for (const signal of SIGNALS) {
    const onSignal = () => {
      if (process.listenerCount(signal) > 1) return;
      releaseAll();
      process.removeListener(signal, onSignal);
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}
