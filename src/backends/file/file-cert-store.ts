import { closeSync, openSync, readFileSync, readdirSync, renameSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { applyListFilter, revokedRecords } from '../../core/inventory';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { AuditEvent, RevocationVersionStore, StateStore } from '../../core/cert-store';
import { ConflictError, NotFoundError, withContext, type CertctlError } from '../../core/errors';
import { ensureDir, fsyncAll, fsyncDir, fsyncInBackground, writeFileAtomic, writeFilesAtomic, writeNewFile, type FileToWrite } from '../../core/fs-atomic';
import { inject, injectable } from 'inversify';
import { underCaLock } from './ca-lock';
import { exists, fileStoreError, isMissing } from './fs-errors';
import {
  appendLines,
  cutTornLine,
  eventsOfSerial,
  foldEvents,
  parseInventory,
  readPack,
  recordsBySerial,
  type FoundCertificate,
  type InventoryEvent,
  type PackRef,
} from './inventory-file';
import { FileStoreOptions } from './options';
import { RevocationCounter } from './revocation-counter';
import { SerialIndex } from './serial-index';
import { FileStateRecords } from './state-files';
import type { ClaimOutcome, StateRecord, StateWriteOptions } from '../../core/state-store';
import type { CaRecord, CertificateRecord, IssuedCertificate, ListFilter, RevocationReason } from '../../core/types';
import { plural } from '../../core/text';

const CA_META = 'ca.json';
const INVENTORY = 'inventory.jsonl';

/**
 * The embedded default store: one directory per CA.
 *
 * ```
 * <dir>/<ca>/ca.crt  chain.pem  ca.key (0600)  ca.json  crlnumber
 *           inventory.jsonl   append-only: one "issue" or "revoke" event per line
 *           revocations       how many revocations were recorded (revocationVersion)
 *           audit.jsonl       who did what, when
 *           certs/<pack>.pem  certificates written in one command, concatenated
 *           keys/<pack>.pem   their private keys (0600)
 * <dir>/_state/<ns>/<id>.json  server state records (state-files.ts)
 * ```
 * Certificates issued together share one pack file so a batch of 10,000 is made durable
 * with a handful of fsyncs, not 20,000. A pack becomes visible only when its inventory
 * line is appended; a crash before that leaves an unreferenced pack, never a record
 * pointing at a half-written file. A torn last inventory line (crash mid-append) is
 * ignored on read and cut off by the next writer. Writers hold a lock per CA.
 * Every public method translates file-system errors through fs-errors.ts: a permission error
 * is a configuration error (exit 3) naming the path.
 */
@injectable()
export class FileCertStore implements RevocationVersionStore, StateStore {
  readonly kind = 'file';
  private readonly state: FileStateRecords;
  private readonly revocations = new RevocationCounter();

  constructor(@inject(FileStoreOptions) private readonly options: FileStoreOptions) {
    this.state = new FileStateRecords(options.dir, (err, what) => fileStoreError(err, what, options.dir));
  }

  private caDir(ca: string): string {
    return join(this.options.dir, ca);
  }

  private index(ca: string): SerialIndex {
    return new SerialIndex(this.caDir(ca), join(this.caDir(ca), INVENTORY));
  }

  /**
   * The serial index for a writer (caller holds the CA lock): a torn last inventory line is cut
   * off first, so that the index, rebuilt if it does not describe the inventory, covers all of it.
   */
  private openIndexForWrite(ca: string): SerialIndex {
    cutTornLine(join(this.caDir(ca), INVENTORY));
    const index = this.index(ca);
    index.ensureCurrent();
    return index;
  }

  /**
   * Runs one operation of the store, translating what the file system throws (fs-errors.ts).
   * @throws ConfigError for a permission error; InternalError for another fs error; the operation's CertctlErrors.
   */
  private async guarded<T>(what: string, operation: () => T | Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (err) {
      throw fileStoreError(err, what, this.options.dir);
    }
  }

  async getCa(ca: string): Promise<CaRecord | undefined> {
    return this.guarded(`read CA "${ca}"`, () => {
      const dir = this.caDir(ca);
      let meta: Omit<CaRecord, 'certPem' | 'chainPem'>;
      try {
        meta = JSON.parse(readFileSync(join(dir, CA_META), 'utf8')) as Omit<CaRecord, 'certPem' | 'chainPem'>;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw err;
      }
      const certPem = readFileSync(join(dir, 'ca.crt'), 'utf8');
      const chainText = exists(join(dir, 'chain.pem')) ? readFileSync(join(dir, 'chain.pem'), 'utf8') : '';
      const chainPem = chainText.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
      return { ...meta, certPem, chainPem: chainPem.map((p) => (p.endsWith('\n') ? p : `${p}\n`)) };
    });
  }

  async listCas(): Promise<string[]> {
    return this.guarded('list the CAs', () => {
      if (!exists(this.options.dir)) return [];
      return readdirSync(this.options.dir, { withFileTypes: true })
        .filter((d) => d.isDirectory() && exists(join(this.options.dir, d.name, CA_META)))
        .map((d) => d.name)
        .sort();
    });
  }

  async createCa(record: CaRecord, keyPem?: string): Promise<void> {
    await this.guarded(`create CA "${record.name}" in ${this.options.dir}`, () => this.createCaDir(record, keyPem));
  }

  /** Builds the CA in a temp directory renamed into place: a CA directory is either whole or absent. */
  private createCaDir(record: CaRecord, keyPem?: string): void {
    const dir = this.caDir(record.name);
    if (exists(dir)) throw new ConflictError(`CA "${record.name}" already exists at ${dir}; choose another --ca name`);
    ensureDir(this.options.dir);
    const tmp = join(this.options.dir, `.tmp-${record.name}-${randomBytes(4).toString('hex')}`);
    try {
      ensureDir(tmp);
      ensureDir(join(tmp, 'certs'));
      ensureDir(join(tmp, 'keys'));
      const { certPem, chainPem, ...meta } = record;
      const files = [
        { path: join(tmp, 'ca.crt'), data: certPem, mode: 0o600 },
        { path: join(tmp, 'chain.pem'), data: chainPem.join(''), mode: 0o600 },
        { path: join(tmp, CA_META), data: `${JSON.stringify(meta, null, 2)}\n`, mode: 0o600 },
        { path: join(tmp, INVENTORY), data: '', mode: 0o600 },
      ];
      if (keyPem) files.push({ path: join(tmp, 'ca.key'), data: keyPem, mode: 0o600 });
      writeFilesAtomic(files);
      fsyncDir(tmp);
      renameSync(tmp, dir);
      fsyncDir(this.options.dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const failure =
        code === 'ENOTEMPTY' || code === 'EEXIST'
          ? new ConflictError(`CA "${record.name}" already exists at ${dir}; choose another --ca name`, { cause: err })
          : fileStoreError(err, `create CA "${record.name}" in ${this.options.dir}`, this.options.dir);
      throw this.removeTemp(tmp, failure);
    }
  }

  /** Removes a half-built CA directory; when that fails too, the error names it (it may hold the CA key). */
  private removeTemp(tmp: string, failure: CertctlError): CertctlError {
    try {
      rmSync(tmp, { recursive: true, force: true });
      return failure;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? String(err);
      return withContext(
        failure,
        `${failure.message}; the half-built directory ${tmp} (it may hold the CA key) could not be removed (${code}) — delete it: rm -rf '${tmp}'`,
      );
    }
  }

  async getCaKey(ca: string): Promise<string> {
    const path = join(this.caDir(ca), 'ca.key');
    return this.guarded(`read the key of CA "${ca}"`, () => {
      try {
        return readFileSync(path, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
          throw new NotFoundError(`CA "${ca}" has no key in the file store (${path}); its key is held elsewhere — sign with the backend that holds it`);
        }
        throw err;
      }
    });
  }

  async putIssued(ca: string, items: IssuedCertificate[]): Promise<void> {
    if (items.length === 0) return;
    await this.withLock(ca, `store ${plural(items.length, 'certificate')} in CA "${ca}"`, async () => {
      const dir = this.caDir(ca);
      const index = this.openIndexForWrite(ca);
      // A few serials: ask the index; a fleet batch: one scan of the inventory is cheaper.
      const used = new Set<string>();
      if (items.length > 64) {
        for (const m of this.readInventoryBytes(ca)
          .toString('latin1')
          .matchAll(/"serial":"([0-9A-F]+)"/g))
          used.add(m[1]);
      } else {
        for (const item of items) if (index.has(item.record.serial)) used.add(item.record.serial);
      }
      for (const item of items) {
        if (used.has(item.record.serial)) {
          throw new ConflictError(`serial ${item.record.serial} is already used in CA "${ca}"; nothing was stored — run the command again`);
        }
        used.add(item.record.serial);
      }
      const pack = items.length === 1 ? items[0].record.serial : `batch-${items[0].record.serial}-${items.length}`;
      const certFile = `${pack}.pem`;
      let certOffset = 0;
      let keyOffset = 0;
      const certParts: Buffer[] = [];
      const keyParts: Buffer[] = [];
      const lines: string[] = [];
      for (const item of items) {
        const cert = Buffer.from(item.certPem);
        certParts.push(cert);
        const event: InventoryEvent = { e: 'issue', ...item.record, cert: [certFile, certOffset, cert.length] };
        certOffset += cert.length;
        if (item.keyPem) {
          const key = Buffer.from(item.keyPem);
          keyParts.push(key);
          event.key = [certFile, keyOffset, key.length];
          keyOffset += key.length;
        }
        lines.push(JSON.stringify(event));
      }
      const packs = [{ path: join(dir, 'certs', certFile), data: Buffer.concat(certParts), mode: 0o600 }];
      if (keyParts.length) packs.push({ path: join(dir, 'keys', certFile), data: Buffer.concat(keyParts), mode: 0o600 });
      await this.writePacks(packs);
      const start = this.appendInventory(ca, `${lines.join('\n')}\n`);
      index.append(
        start,
        items.map((item, i) => ({ serial: item.record.serial, length: Buffer.byteLength(lines[i]) })),
      );
    });
  }

  /**
   * Writes pack files under their final names and waits until they and their directory entries
   * are on disk, all fsynced together (fsyncAll): no temp name and rename is needed, because a
   * pack is only ever reached through the inventory line appended after this. A file already
   * under a pack's name can only be one a failed or crashed attempt left unreferenced (the pack
   * is named after a serial the inventory does not hold; a migration run again reuses it): it is
   * replaced.
   */
  private async writePacks(packs: FileToWrite[]): Promise<void> {
    for (const pack of packs) {
      try {
        unlinkSync(pack.path);
      } catch (err) {
        if (!isMissing(err)) throw err;
      }
      writeNewFile(pack);
    }
    await fsyncAll([...packs.map((p) => p.path), ...new Set(packs.map((p) => dirname(p.path)))]);
  }

  async get(ca: string, serial: string): Promise<{ record: CertificateRecord; certPem: string } | undefined> {
    return this.guarded(`read certificate ${serial} of CA "${ca}"`, () => {
      const found = this.findEvents(ca, serial);
      if (!found) return undefined;
      const { record, cert } = found;
      return { record, certPem: this.readPack(ca, 'certs', cert) };
    });
  }

  async getKey(ca: string, serial: string): Promise<string | undefined> {
    return this.guarded(`read the key of certificate ${serial} of CA "${ca}"`, () => {
      const found = this.findEvents(ca, serial);
      return found?.key ? this.readPack(ca, 'keys', found.key) : undefined;
    });
  }

  async list(ca: string, filter: ListFilter = {}): Promise<CertificateRecord[]> {
    return this.guarded(`read the inventory of CA "${ca}"`, () => applyListFilter([...this.recordsBySerial(ca).values()], filter));
  }

  async markRevoked(ca: string, serials: string[], reason: RevocationReason, at: Date): Promise<CertificateRecord[]> {
    return this.withLock(ca, `revoke in CA "${ca}"`, () => {
      const records = serials.length === 1 ? this.oneRecord(ca, serials[0]) : this.recordsBySerial(ca);
      const out = revokedRecords(ca, (serial) => records.get(serial), serials, reason, at);
      const index = this.openIndexForWrite(ca);
      const lines = serials.map((serial) => JSON.stringify({ e: 'revoke', serial, revokedAt: at.toISOString(), reason } satisfies InventoryEvent));
      const start = this.appendInventory(ca, `${lines.join('\n')}\n`);
      index.append(
        start,
        serials.map((serial, i) => ({ serial, length: Buffer.byteLength(lines[i]) })),
      );
      // After the events are appended: a reader that sees the new count reads them too.
      this.revocations.add(this.caDir(ca), serials.length);
      return out;
    });
  }

  /** The count of revocations recorded in the CA (the `revocations` file): one small read, for the server's caches. */
  async revocationVersion(ca: string): Promise<string> {
    return this.guarded(`read the revocation count of CA "${ca}"`, () => {
      const count = this.revocations.read(this.caDir(ca));
      if (count === 0 && !exists(join(this.caDir(ca), CA_META))) {
        throw new NotFoundError(`no CA named "${ca}" in the file store at ${this.options.dir}; create it with \`certctl init --cn NAME\``);
      }
      return String(count);
    });
  }

  private oneRecord(ca: string, serial: string): Map<string, CertificateRecord> {
    const found = this.findEvents(ca, serial);
    return new Map(found ? [[serial, found.record]] : []);
  }

  private recordsBySerial(ca: string): Map<string, CertificateRecord> {
    return recordsBySerial(parseInventory(this.readInventoryBytes(ca), join(this.caDir(ca), INVENTORY)));
  }

  async nextCrlNumber(ca: string): Promise<bigint> {
    return this.advanceCrlNumber(ca, (current) => current + 1n);
  }

  async raiseCrlNumber(ca: string, atLeast: bigint): Promise<bigint> {
    return this.advanceCrlNumber(ca, (current) => (current >= atLeast ? current : atLeast));
  }

  /** Moves the CRL counter to `next(current)` under the CA lock; writes only when it changes. */
  private advanceCrlNumber(ca: string, next: (current: bigint) => bigint): Promise<bigint> {
    return this.withLock(ca, `record the CRL number of CA "${ca}"`, () => {
      const path = join(this.caDir(ca), 'crlnumber');
      const current = exists(path) ? BigInt(readFileSync(path, 'utf8').trim() || '0') : 0n;
      const value = next(current);
      if (value !== current) writeFileAtomic(path, `${value}\n`, 0o600);
      return value;
    });
  }

  /**
   * Removes the CA's directory under its lock: renamed aside first (the CA vanishes in one step,
   * so no reader sees half of it), its ca.json removed so the renamed directory is never listed
   * as a CA, then deleted.
   */
  async deleteCa(ca: string): Promise<void> {
    const dir = this.caDir(ca);
    // The lock lives inside the directory: it moves away with it, and its release finds nothing to remove.
    const what = `delete the directory of CA "${ca}" (${dir})`;
    await this.withLock(ca, what, () => {
      const aside = join(this.options.dir, `.deleted-${ca}-${randomBytes(4).toString('hex')}`);
      renameSync(dir, aside);
      unlinkSync(join(aside, CA_META));
      fsyncDir(this.options.dir);
      try {
        rmSync(aside, { recursive: true, force: true });
      } catch (err) {
        // The CA is gone by now; what is left is its files, keys included: say where.
        const failure = fileStoreError(err, what, this.options.dir);
        throw withContext(
          failure,
          `CA "${ca}" is deleted, but its files (keys included) are left in ${aside}: ${failure.message} — remove it with rm -rf '${aside}'`,
        );
      }
    });
  }

  /** Removes ca.key under the CA's lock (after `migrate --import-ca-key --signer` moved it into a signer). */
  async removeCaKey(ca: string): Promise<void> {
    const dir = this.caDir(ca);
    await this.withLock(ca, `remove the key of CA "${ca}" (${join(dir, 'ca.key')})`, () => {
      rmSync(join(dir, 'ca.key'), { force: true });
      fsyncDir(dir);
    });
  }

  async recordEvent(event: AuditEvent): Promise<void> {
    const path = join(this.caDir(event.ca), 'audit.jsonl');
    await this.guarded(`append to the audit log of CA "${event.ca}"`, async () => {
      const fd = openSync(path, 'a', 0o600);
      try {
        writeSync(fd, `${JSON.stringify({ ...event, user: process.env.USER ?? String(process.getuid?.() ?? '') })}\n`);
        // On the thread pool: the caller may be making other files durable at the same time.
        await fsyncInBackground(fd);
      } finally {
        closeSync(fd);
      }
    });
  }

  async createState<T>(ns: string, id: string, value: T, options?: StateWriteOptions): Promise<StateRecord<T>> {
    return this.guarded(`create a state record in ${ns}`, () => this.state.create(ns, id, value, options));
  }

  async getState<T>(ns: string, id: string): Promise<StateRecord<T> | undefined> {
    return this.guarded(`read a state record of ${ns}`, () => this.state.get<T>(ns, id));
  }

  async updateState<T>(ns: string, id: string, value: T, version: number, options?: StateWriteOptions): Promise<StateRecord<T>> {
    return this.guarded(`update a state record of ${ns}`, () => this.state.update(ns, id, value, version, options));
  }

  async deleteState(ns: string, id: string): Promise<void> {
    return this.guarded(`delete a state record of ${ns}`, () => this.state.delete(ns, id));
  }

  async claimState<T>(ns: string, id: string, now = new Date()): Promise<ClaimOutcome<T>> {
    return this.guarded(`claim a state record of ${ns}`, () => this.state.claim<T>(ns, id, now));
  }

  async pruneState(ns: string, before: Date): Promise<number> {
    return this.guarded(`prune the state records of ${ns}`, () => this.state.prune(ns, before));
  }

  /** One serial's record and pack references, through the serial index when it is current. */
  private findEvents(ca: string, serial: string): FoundCertificate | undefined {
    const index = this.index(ca);
    const refs = exists(join(this.caDir(ca), INVENTORY)) ? index.lookup(serial) : undefined;
    if (refs) return foldEvents(index.readLines(refs).map((line) => JSON.parse(line) as InventoryEvent));
    return foldEvents(eventsOfSerial(this.readInventoryBytes(ca), serial));
  }

  private readInventoryBytes(ca: string): Buffer {
    const path = join(this.caDir(ca), INVENTORY);
    try {
      return readFileSync(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new NotFoundError(`no CA named "${ca}" in the file store at ${this.options.dir}; create it with \`certctl init --cn NAME\``);
      }
      throw err;
    }
  }

  private readPack(ca: string, kind: 'certs' | 'keys', ref: PackRef): string {
    return readPack(join(this.caDir(ca), kind, ref[0]), ref);
  }

  /** Appends inventory lines; returns the byte offset they were written at. */
  private appendInventory(ca: string, lines: string): number {
    return appendLines(join(this.caDir(ca), INVENTORY), lines);
  }

  /**
   * Runs `fn` under the CA's lock (ca-lock.ts), translating file-system errors (see {@link guarded}).
   * @throws NotFoundError when there is no such CA; BackendUnavailableError when another process holds the lock.
   */
  private async withLock<T>(ca: string, what: string, fn: () => T | Promise<T>): Promise<T> {
    return this.guarded(what, () => {
      const dir = this.caDir(ca);
      if (!exists(join(dir, CA_META))) {
        throw new NotFoundError(`no CA named "${ca}" in the file store at ${this.options.dir}; create it with \`certctl init --cn NAME\``);
      }
      return underCaLock(dir, ca, fn, (err) => fileStoreError(err, what, this.options.dir));
    });
  }
}
