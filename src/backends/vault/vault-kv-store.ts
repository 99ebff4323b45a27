import type { RevocationVersionStore, StateStore } from '../../core/cert-store';
import { ConflictError, NotFoundError, withContext } from '../../core/errors';
import { mapLimit, retryEachWithin } from '../../core/concurrency';
import { applyListFilter, checkDistinctSerials, revokedRecords } from '../../core/inventory';
import type { CaRecord, CertificateRecord, IssuedCertificate, ListFilter, RevocationReason } from '../../core/types';
import { inject, injectable, optional } from 'inversify';
import { VaultClient } from './client';
import { readEntry, writeEntry, type Versioned } from './kv-entries';
import { VaultStateRecords } from './vault-state';
import type { ClaimOutcome, StateRecord, StateWriteOptions } from '../../core/state-store';
import { VaultOptions } from './options';
import { RollbackWindowMs } from './tokens';

/** What one certificate's KV entry holds. */
interface CertEntry {
  record: CertificateRecord;
  /** Position in its batch: certificates of one command share an issue time, and list keeps their order. */
  position?: number;
  cert_pem: string;
  key_pem?: string;
}

/** What a CA's KV entry holds. */
interface CaEntry {
  record: CaRecord;
  /** Present only when a local signer keeps the CA key in KV (mixed mode); Vault PKI keeps its own. */
  key_pem?: string;
}

const LIST_CONCURRENCY = 16;
/** Writes of one batch in flight at once. */
const IN_FLIGHT = 4;

/**
 * CertStore over a Vault KV v2 mount (DESIGN.md "Two interfaces, three backends"):
 * `<kv_prefix>/<ca>/ca` holds the CA record, `<kv_prefix>/<ca>/certs/<serial>` one certificate
 * (record, PEM, leaf key when certctl generated it), `<kv_prefix>/<ca>/crl-number` the counter,
 * `<kv_prefix>/<ca>/revocations` a counter moved after every revocation (revocationVersion).
 * `<kv_prefix>/_state/<ns>/<id>` the server's state records (vault-state.ts).
 * Every write uses check-and-set: `cas=0` creates only, `cas=<version>` replaces only what was
 * read, so two certctl processes cannot overwrite each other's records.
 */
@injectable()
export class VaultKvStore implements RevocationVersionStore, StateStore {
  readonly kind = 'vault-kv';
  private readonly cas = new Map<string, CaRecord>();
  private readonly state: VaultStateRecords;

  private readonly mount: string;
  private readonly prefix: string;

  constructor(
    @inject(VaultClient) private readonly client: VaultClient,
    @inject(VaultOptions) options: Pick<VaultOptions, 'kvMount' | 'kvPrefix'>,
    /** How long a rollback keeps trying while Vault is unreachable or sealed. */
    @inject(RollbackWindowMs) @optional() private readonly cleanupWindowMs: number = 30_000,
  ) {
    this.mount = options.kvMount;
    this.prefix = options.kvPrefix;
    this.state = new VaultStateRecords(client, this.mount, this.prefix);
  }

  private data(path: string): string {
    return `${this.mount}/data/${this.prefix}/${path}`;
  }

  private metadata(path: string): string {
    return `${this.mount}/metadata/${this.prefix}/${path}`;
  }

  private read<T>(path: string): Promise<Versioned<T> | undefined> {
    return readEntry<T>(this.client, this.data(path));
  }

  /** Writes with check-and-set: `cas` 0 creates, otherwise replaces exactly version `cas`. */
  private write(path: string, value: unknown, cas: number): Promise<number> {
    return writeEntry(this.client, this.mount, this.data(path), value, cas);
  }

  async getCa(ca: string): Promise<CaRecord | undefined> {
    const cached = this.cas.get(ca);
    if (cached) return cached;
    const entry = await this.read<CaEntry>(`${ca}/ca`);
    if (entry) this.cas.set(ca, entry.data.record);
    return entry?.data.record;
  }

  async listCas(): Promise<string[]> {
    const keys = await this.client.list(`${this.mount}/metadata/${this.prefix}`);
    const names = keys.filter((k) => k.endsWith('/')).map((k) => k.slice(0, -1));
    const out: string[] = [];
    for (const name of names) if (await this.getCa(name)) out.push(name);
    return out.sort();
  }

  async createCa(record: CaRecord, keyPem?: string): Promise<void> {
    try {
      await this.write(`${record.name}/ca`, { record, ...(keyPem === undefined ? {} : { key_pem: keyPem }) } satisfies CaEntry, 0);
    } catch (err) {
      if (err instanceof ConflictError)
        throw new ConflictError(`CA "${record.name}" already exists in Vault KV (${this.data(`${record.name}/ca`)}); choose another --ca name`, { cause: err });
      throw err;
    }
    this.cas.set(record.name, record);
  }

  async getCaKey(ca: string): Promise<string> {
    const entry = await this.read<CaEntry>(`${ca}/ca`);
    if (!entry) throw new NotFoundError(`no CA "${ca}" in Vault KV; create it with \`certctl init\``);
    if (entry.data.key_pem === undefined) throw new NotFoundError(`CA "${ca}" keeps its key inside Vault's PKI engine; it is not in KV`);
    return entry.data.key_pem;
  }

  async putIssued(ca: string, items: IssuedCertificate[]): Promise<void> {
    if (!(await this.getCa(ca))) throw new NotFoundError(`no CA "${ca}" in Vault KV; create it with \`certctl init\``);
    checkDistinctSerials(items);
    const written: string[] = [];
    try {
      // A few writes in flight: each is its own key with cas=0, so order does not matter to Vault.
      await mapLimit(items, IN_FLIGHT, async (item, position) => {
        const entry: CertEntry = { record: item.record, position, cert_pem: item.certPem, ...(item.keyPem === undefined ? {} : { key_pem: item.keyPem }) };
        try {
          await this.write(`${ca}/certs/${item.record.serial}`, entry, 0);
        } catch (err) {
          if (err instanceof ConflictError)
            throw new ConflictError(`serial ${item.record.serial} is already in CA "${ca}"; nothing was stored`, { cause: err });
          throw err;
        }
        written.push(item.record.serial);
      });
    } catch (err) {
      await this.undo(
        written.map((s) => `${ca}/certs/${s}`),
        err,
      );
    }
  }

  async get(ca: string, serial: string): Promise<{ record: CertificateRecord; certPem: string } | undefined> {
    const entry = await this.read<CertEntry>(`${ca}/certs/${serial}`);
    return entry && { record: entry.data.record, certPem: entry.data.cert_pem };
  }

  async getKey(ca: string, serial: string): Promise<string | undefined> {
    return (await this.read<CertEntry>(`${ca}/certs/${serial}`))?.data.key_pem;
  }

  /** One LIST, then the entries read 16 at a time; oldest first by issue time. */
  async list(ca: string, filter?: ListFilter): Promise<CertificateRecord[]> {
    const serials = await this.client.list(this.metadata(`${ca}/certs`));
    const read = await mapLimit(serials, LIST_CONCURRENCY, (s) => this.read<CertEntry>(`${ca}/certs/${s}`));
    const entries = read.flatMap((entry) => (entry ? [entry.data] : []));
    entries.sort(
      (a, b) => a.record.issuedAt.localeCompare(b.record.issuedAt) || (a.position ?? 0) - (b.position ?? 0) || a.record.serial.localeCompare(b.record.serial),
    );
    return applyListFilter(
      entries.map((e) => e.record),
      filter,
    );
  }

  /**
   * Revokes all or none: every entry is read and checked first, then each is replaced with
   * check-and-set, then the revocation counter is moved; if one write fails, the ones already
   * written are put back ({@link putBack}).
   */
  async markRevoked(ca: string, serials: string[], reason: RevocationReason, at: Date): Promise<CertificateRecord[]> {
    const entries = new Map<string, Versioned<CertEntry>>();
    for (const serial of new Set(serials)) {
      const entry = await this.read<CertEntry>(`${ca}/certs/${serial}`);
      if (entry) entries.set(serial, entry);
    }
    const out = revokedRecords(ca, (s) => entries.get(s)?.data.record, serials, reason, at);
    const done: { serial: string; version: number }[] = [];
    try {
      for (const record of out) {
        const old = entries.get(record.serial)!;
        const version = await this.write(`${ca}/certs/${record.serial}`, { ...old.data, record }, old.version);
        done.push({ serial: record.serial, version });
      }
      // After the entries: an instance that sees the counter move reads them revoked.
      await this.advanceCounter(`${ca}/revocations`, (n) => n + BigInt(out.length), `the revocation counter of CA "${ca}"`);
    } catch (err) {
      await this.putBack(ca, done.reverse(), entries, err);
    }
    return out;
  }

  /**
   * Rollback of a failed markRevoked: writes back what each certificate held before (check-and-set
   * on the version certctl wrote), retrying for a while when Vault is briefly unreachable or
   * sealed, then rethrows the failure; the entries that could not be put back are named.
   */
  private async putBack(ca: string, done: { serial: string; version: number }[], before: Map<string, Versioned<CertEntry>>, err: unknown): Promise<never> {
    const left = await retryEachWithin(done, this.cleanupWindowMs, async (d) => {
      await this.write(`${ca}/certs/${d.serial}`, before.get(d.serial)!.data, d.version);
    });
    if (left.length === 0) throw err;
    const message = `${(err as Error).message}; ${left.length} of the ${done.length} certificate${done.length === 1 ? '' : 's'} already marked revoked could not be put back and read as revoked: ${left.map((d) => this.data(`${ca}/certs/${d.serial}`)).join(', ')}`;
    throw withContext(err, message);
  }

  /** The revocation counter of the CA (`<ca>/revocations`, "0" before the first revocation): one KV read. */
  async revocationVersion(ca: string): Promise<string> {
    const counter = await this.read<{ n: string }>(`${ca}/revocations`);
    if (counter) return counter.data.n;
    if (!(await this.getCa(ca))) throw new NotFoundError(`no CA "${ca}" in Vault KV; create it with \`certctl init\``);
    return '0';
  }

  /** A check-and-set counter: two processes can never draw the same number. */
  async nextCrlNumber(ca: string): Promise<bigint> {
    return this.advanceCounter(`${ca}/crl-number`, (current) => current + 1n, `the CRL number of CA "${ca}"`);
  }

  async raiseCrlNumber(ca: string, atLeast: bigint): Promise<bigint> {
    if (!(await this.getCa(ca))) throw new NotFoundError(`no CA "${ca}" in Vault KV; create it with \`certctl init\``);
    return this.advanceCounter(`${ca}/crl-number`, (current) => (current >= atLeast ? current : atLeast), `the CRL number of CA "${ca}"`);
  }

  /** Moves the counter at `path` to `next(current)` with check-and-set, retrying when another process moved it first. */
  private async advanceCounter(path: string, next: (current: bigint) => bigint, what: string): Promise<bigint> {
    let lost: unknown;
    for (let attempt = 0; attempt < 10; attempt++) {
      const current = await this.read<{ n: string }>(path);
      const now = current ? BigInt(current.data.n) : 0n;
      const value = next(now);
      if (value === now) return now;
      try {
        await this.write(path, { n: String(value) }, current?.version ?? 0);
        return value;
      } catch (err) {
        // Another process moved the counter first: read it again.
        if (!(err instanceof ConflictError)) throw err;
        lost = err;
      }
    }
    throw new ConflictError(`${what} kept changing under certctl; retry`, { cause: lost });
  }

  /**
   * Deletes every KV entry under `<kv_prefix>/<ca>/` for good (metadata delete: all versions),
   * listed recursively so entries certctl does not know of go too: the certificates first, then
   * the other entries (the CRL number), and the CA entry `<ca>/ca` last, so a run that fails
   * midway leaves the CA listed and calling it again finishes the job. Only the KV mount is
   * touched: a CA whose key Vault's PKI engine holds keeps its issuer there.
   * @throws NotFoundError when the KV mount holds nothing of that CA.
   */
  async deleteCa(ca: string): Promise<void> {
    const leaves: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const key of await this.client.list(this.metadata(dir))) {
        if (key.endsWith('/')) await walk(`${dir}${key}`);
        else leaves.push(`${dir}${key}`);
      }
    };
    await walk(`${ca}/`);
    if (leaves.length === 0) throw new NotFoundError(`no CA "${ca}" in Vault KV (nothing under ${this.data(`${ca}/`)})`);
    const record = `${ca}/ca`;
    const certs = leaves.filter((p) => p.startsWith(`${ca}/certs/`));
    const others = leaves.filter((p) => p !== record && !p.startsWith(`${ca}/certs/`));
    this.cas.delete(ca);
    let done = 0;
    for (const [what, paths] of [
      ['certificates', certs],
      ['other entries', others],
      ['CA entry', leaves.filter((p) => p === record)],
    ] as const) {
      try {
        await mapLimit(paths, LIST_CONCURRENCY, async (p) => {
          await this.client.delete(this.metadata(p));
          done++;
        });
      } catch (err) {
        const message = `deleting CA "${ca}" from Vault KV stopped at its ${what} after ${done} of ${leaves.length} entries: ${(err as Error).message}. Its CA entry is deleted last, so the CA is still there: run the deletion again to finish it`;
        throw withContext(err, message);
      }
    }
  }

  createState<T>(ns: string, id: string, value: T, options?: StateWriteOptions): Promise<StateRecord<T>> {
    return this.state.create(ns, id, value, options);
  }

  getState<T>(ns: string, id: string): Promise<StateRecord<T> | undefined> {
    return this.state.get<T>(ns, id);
  }

  updateState<T>(ns: string, id: string, value: T, version: number, options?: StateWriteOptions): Promise<StateRecord<T>> {
    return this.state.update(ns, id, value, version, options);
  }

  deleteState(ns: string, id: string): Promise<void> {
    return this.state.delete(ns, id);
  }

  claimState<T>(ns: string, id: string, now = new Date()): Promise<ClaimOutcome<T>> {
    return this.state.claim<T>(ns, id, now);
  }

  pruneState(ns: string, before: Date): Promise<number> {
    return this.state.prune(ns, before);
  }

  /**
   * Deletes entries written by a failed batch (all versions), retrying for a while when Vault is
   * briefly unreachable or sealed, then rethrows the failure; what still cannot be deleted is named.
   */
  private async undo(paths: string[], err: unknown): Promise<never> {
    const left = await retryEachWithin(paths, this.cleanupWindowMs, (p) => this.client.delete(this.metadata(p)));
    if (left.length === 0) throw err;
    const message = `${(err as Error).message}; ${left.length} entr${left.length === 1 ? 'y' : 'ies'} written before the failure could not be removed: ${left.map((p) => this.data(p)).join(', ')}`;
    throw withContext(err, message);
  }
}
