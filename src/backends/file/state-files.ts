import { readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { ConflictError, NotFoundError, type CertctlError } from '../../core/errors';
import { createFileExclusive, ensureDir, fsyncDir, writeFileAtomic } from '../../core/fs-atomic';
import { checkStateKey, claimDecision, isExpired, stateBody, type ClaimOutcome, type StateRecord, type StateWriteOptions } from '../../core/state-store';
import { underLock } from './ca-lock';
import { isMissing } from './fs-errors';

/** The folder of the store's state records; CA names start with a letter or digit, so no CA is called this. */
const STATE_DIR = '_state';

/**
 * The file store's StateStore records (the capability of src/core/cert-store.ts), one file each:
 * `<dir>/_state/<ns>/<id>.json` (0600; the directories 0700), holding the record with its version.
 * A create is link(2) of a fully written temp file (fs-atomic.ts createFileExclusive): exclusive
 * across processes without a lock. An update, claim or delete reads, decides and writes under
 * the record's own lock (`<id>.lock`, the same mkdir lock as the CA lock, ca-lock.ts), replacing the file by
 * rename, so a reader without the lock sees the old record or the new one, never half of one;
 * and two processes (two `certctl serve` over one directory) never both win a claim.
 * Methods throw file-system errors as they come (the store translates them, fs-errors.ts) and
 * the CertctlErrors of the StateStore contract.
 */
export class FileStateRecords {
  private readonly root: string;

  constructor(
    storeDir: string,
    /** The store's translation of file-system errors, for a lock that cannot be released. */
    private readonly translate: (err: unknown, what: string) => CertctlError,
  ) {
    this.root = join(storeDir, STATE_DIR);
  }

  create<T>(ns: string, id: string, value: T, options?: StateWriteOptions): StateRecord<T> {
    const path = this.path(ns, id);
    ensureDir(join(this.root, ns));
    const record: StateRecord<T> = { ...stateBody(value, options), version: 1 };
    try {
      createFileExclusive(path, JSON.stringify(record), 0o600, options?.durable !== false);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new ConflictError(`state ${ns}/${id} already exists in the file store`, { cause: err });
      throw err;
    }
    return record;
  }

  get<T>(ns: string, id: string): StateRecord<T> | undefined {
    return read<T>(this.path(ns, id));
  }

  async update<T>(ns: string, id: string, value: T, version: number, options?: StateWriteOptions): Promise<StateRecord<T>> {
    return this.locked(ns, id, 'update', (path) => {
      const old = read<T>(path);
      if (!old) throw new NotFoundError(`no state ${ns}/${id} in the file store`);
      if (old.version !== version) throw new ConflictError(`state ${ns}/${id} was changed by another writer (version ${old.version}, not ${version})`);
      const expiresAt = options?.expiresAt ?? (old.expiresAt ? new Date(old.expiresAt) : undefined);
      const record: StateRecord<T> = { ...stateBody(value, { expiresAt }, old.claimedAt), version: version + 1 };
      writeFileAtomic(path, JSON.stringify(record), 0o600, options?.durable !== false);
      return record;
    });
  }

  async delete(ns: string, id: string): Promise<void> {
    await this.locked(ns, id, 'delete', (path) => {
      try {
        unlinkSync(path);
      } catch (err) {
        if (!isMissing(err)) throw err;
        return;
      }
      fsyncDir(join(this.root, ns));
    });
  }

  async claim<T>(ns: string, id: string, now: Date): Promise<ClaimOutcome<T>> {
    return this.locked<ClaimOutcome<T>>(ns, id, 'claim', (path) => {
      const old = read<T>(path);
      if (!old) return { claimed: false, reason: 'absent' };
      const decision = claimDecision(old, now);
      if (decision !== 'claim') return { claimed: false, reason: decision, record: old };
      const record: StateRecord<T> = { ...old, claimedAt: now.toISOString(), version: old.version + 1 };
      writeFileAtomic(path, JSON.stringify(record), 0o600);
      return { claimed: true, record };
    });
  }

  async prune(ns: string, before: Date): Promise<number> {
    checkStateKey(ns);
    let names: string[];
    try {
      names = readdirSync(join(this.root, ns));
    } catch (err) {
      if (isMissing(err)) return 0;
      throw err;
    }
    let removed = 0;
    for (const name of names) {
      if (!name.endsWith('.json') || name.startsWith('.')) continue;
      const id = name.slice(0, -'.json'.length);
      await this.locked(ns, id, 'prune', (path) => {
        const record = read(path);
        if (!record || !isExpired(record, before)) return;
        unlinkSync(path);
        removed++;
      });
    }
    return removed;
  }

  /** Runs `fn` under the record's lock (its namespace's directory made first: the lock lives there). */
  private async locked<R>(ns: string, id: string, what: string, fn: (path: string) => R): Promise<R> {
    const path = this.path(ns, id);
    const dir = join(this.root, ns);
    ensureDir(dir);
    const label = `state record ${ns}/${id.slice(0, 16)}`;
    return underLock(
      join(dir, `${id}.lock`),
      label,
      () => fn(path),
      (err) => this.translate(err, `${what} ${label}`),
    );
  }

  private path(ns: string, id: string): string {
    checkStateKey(ns, id);
    return join(this.root, ns, `${id}.json`);
  }
}

/** A record read from its file, or undefined when there is none. */
function read<T>(path: string): StateRecord<T> | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as StateRecord<T>;
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}
