import { mapLimit } from '../../core/concurrency';
import { ConflictError, NotFoundError } from '../../core/errors';
import { checkStateKey, claimDecision, isExpired, stateBody, type ClaimOutcome, type StateRecord, type StateWriteOptions } from '../../core/state-store';
import type { VaultClient } from './client';
import { readEntry, writeEntry } from './kv-entries';

/** The folder of the state records under `<kv_prefix>/`; CA names start with a letter or digit, so no CA is called this. */
const STATE_DIR = '_state';
/** A claim that lost its check-and-set to an update (not to another claim) reads again, this often. */
const CLAIM_ATTEMPTS = 5;
const PRUNE_CONCURRENCY = 8;

/** What one record's KV entry holds; its version is the entry's KV version. */
type StateEntry<T> = Omit<StateRecord<T>, 'version'>;

/**
 * The Vault store's StateStore records (the capability of src/core/cert-store.ts), one KV v2 entry
 * each: `<kv_prefix>/_state/<ns>/<id>`. Every write is check-and-set, which Vault applies
 * atomically for every client of the mount: `cas: 0` creates only, `cas: <version read>` replaces
 * only what was read — so of two `certctl serve` instances over one Vault, one claim wins and the
 * other reads the record again and finds it used. A delete removes the entry's metadata (every
 * version), so `cas: 0` works again. Methods throw the client's errors and the CertctlErrors of the
 * StateStore contract.
 */
export class VaultStateRecords {
  constructor(
    private readonly client: VaultClient,
    private readonly mount: string,
    private readonly prefix: string,
  ) {}

  async create<T>(ns: string, id: string, value: T, options?: StateWriteOptions): Promise<StateRecord<T>> {
    const body = stateBody(value, options);
    try {
      return { ...body, version: await writeEntry(this.client, this.mount, this.data(ns, id), body, 0) };
    } catch (err) {
      if (err instanceof ConflictError) throw new ConflictError(`state ${ns}/${id} already exists in Vault KV`, { cause: err });
      throw err;
    }
  }

  async get<T>(ns: string, id: string): Promise<StateRecord<T> | undefined> {
    const entry = await readEntry<StateEntry<T>>(this.client, this.data(ns, id));
    return entry && { ...entry.data, version: entry.version };
  }

  async update<T>(ns: string, id: string, value: T, version: number, options?: StateWriteOptions): Promise<StateRecord<T>> {
    const old = await this.get<T>(ns, id);
    if (!old) throw new NotFoundError(`no state ${ns}/${id} in Vault KV`);
    if (old.version !== version) throw new ConflictError(`state ${ns}/${id} was changed by another writer (version ${old.version}, not ${version})`);
    const expiresAt = options?.expiresAt ?? (old.expiresAt ? new Date(old.expiresAt) : undefined);
    const body = stateBody(value, { expiresAt }, old.claimedAt);
    try {
      return { ...body, version: await writeEntry(this.client, this.mount, this.data(ns, id), body, version) };
    } catch (err) {
      if (err instanceof ConflictError) throw new ConflictError(`state ${ns}/${id} was changed by another writer since version ${version}`, { cause: err });
      throw err;
    }
  }

  async delete(ns: string, id: string): Promise<void> {
    await this.client.delete(this.metadata(ns, id));
  }

  async claim<T>(ns: string, id: string, now: Date): Promise<ClaimOutcome<T>> {
    let lost: unknown;
    for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
      const old = await this.get<T>(ns, id);
      if (!old) return { claimed: false, reason: 'absent' };
      const decision = claimDecision(old, now);
      if (decision !== 'claim') return { claimed: false, reason: decision, record: old };
      const { version, ...body } = old;
      const claimed = { ...body, claimedAt: now.toISOString() };
      try {
        return { claimed: true, record: { ...claimed, version: await writeEntry(this.client, this.mount, this.data(ns, id), claimed, version) } };
      } catch (err) {
        // Another writer got there first: read again (a claim then reads as used).
        if (!(err instanceof ConflictError)) throw err;
        lost = err;
      }
    }
    throw new ConflictError(`state ${ns}/${id} kept changing while it was being claimed; retry`, { cause: lost });
  }

  async prune(ns: string, before: Date): Promise<number> {
    checkStateKey(ns);
    const ids = (await this.client.list(`${this.mount}/metadata/${this.prefix}/${STATE_DIR}/${ns}`)).filter((k) => !k.endsWith('/'));
    const removed = await mapLimit(ids, PRUNE_CONCURRENCY, async (id) => {
      const record = await this.get(ns, id);
      if (!record || !isExpired(record, before)) return false;
      await this.delete(ns, id);
      return true;
    });
    return removed.filter(Boolean).length;
  }

  private data(ns: string, id: string): string {
    checkStateKey(ns, id);
    return `${this.mount}/data/${this.prefix}/${STATE_DIR}/${ns}/${id}`;
  }

  private metadata(ns: string, id: string): string {
    checkStateKey(ns, id);
    return `${this.mount}/metadata/${this.prefix}/${STATE_DIR}/${ns}/${id}`;
  }
}
