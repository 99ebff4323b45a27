import {
  closeSync,
  existsSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { applyListFilter, revokedRecords } from '../../core/inventory';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import * as lockfile from 'proper-lockfile';
import type { AuditEvent, CertStore } from '../../core/cert-store';
import { BackendUnavailableError, ConflictError, InternalError, NotFoundError } from '../../core/errors';
import { ensureDir, fsyncDir, writeFileAtomic, writeFilesAtomic } from '../../core/fs-atomic';
import { inject, injectable } from 'inversify';
import { FileStoreOptions } from './options';
import { SerialIndex } from './serial-index';
import type { CaRecord, CertificateRecord, IssuedCertificate, ListFilter, RevocationReason } from '../../core/types';

/** Where an object sits inside a pack file: [file name, byte offset, byte length]. */
type PackRef = [string, number, number];

/** One line of inventory.jsonl. */
type InventoryEvent =
  ({ e: 'issue'; cert: PackRef; key?: PackRef } & CertificateRecord) | { e: 'revoke'; serial: string; revokedAt: string; reason: RevocationReason };

const CA_META = 'ca.json';
const INVENTORY = 'inventory.jsonl';

/**
 * The embedded default store: one directory per CA.
 *
 * ```
 * <dir>/<ca>/ca.crt  chain.pem  ca.key (0600)  ca.json  crlnumber
 *           inventory.jsonl   append-only: one "issue" or "revoke" event per line
 *           audit.jsonl       who did what, when
 *           certs/<pack>.pem  certificates written in one command, concatenated
 *           keys/<pack>.pem   their private keys (0600)
 * ```
 * Certificates issued together share one pack file so a batch of 10,000 is made durable
 * with a handful of fsyncs, not 20,000. A pack becomes visible only when its inventory
 * line is appended; a crash before that leaves an unreferenced pack, never a record
 * pointing at a half-written file. A torn last inventory line (crash mid-append) is
 * ignored on read and cut off by the next writer. Writers hold a lock per CA.
 */
@injectable()
export class FileCertStore implements CertStore {
  readonly kind = 'file';

  constructor(@inject(FileStoreOptions) private readonly options: FileStoreOptions) {}

  private caDir(ca: string): string {
    return join(this.options.dir, ca);
  }

  private index(ca: string): SerialIndex {
    return new SerialIndex(this.caDir(ca), join(this.caDir(ca), INVENTORY));
  }

  async getCa(ca: string): Promise<CaRecord | undefined> {
    const dir = this.caDir(ca);
    let meta: Omit<CaRecord, 'certPem' | 'chainPem'>;
    try {
      meta = JSON.parse(readFileSync(join(dir, CA_META), 'utf8'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw this.ioError(err, `read ${join(dir, CA_META)}`);
    }
    const certPem = readFileSync(join(dir, 'ca.crt'), 'utf8');
    const chainText = existsSync(join(dir, 'chain.pem')) ? readFileSync(join(dir, 'chain.pem'), 'utf8') : '';
    const chainPem = chainText.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
    return { ...meta, certPem, chainPem: chainPem.map((p) => (p.endsWith('\n') ? p : `${p}\n`)) };
  }

  async listCas(): Promise<string[]> {
    if (!existsSync(this.options.dir)) return [];
    return readdirSync(this.options.dir, { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(join(this.options.dir, d.name, CA_META)))
      .map((d) => d.name)
      .sort();
  }

  async createCa(record: CaRecord, keyPem?: string): Promise<void> {
    const dir = this.caDir(record.name);
    if (existsSync(dir)) throw new ConflictError(`CA "${record.name}" already exists at ${dir}; choose another --ca name`);
    ensureDir(this.options.dir);
    // Built in a temp directory and renamed into place: a CA directory is either whole or absent.
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
      rmSync(tmp, { recursive: true, force: true });
      if ((err as NodeJS.ErrnoException).code === 'ENOTEMPTY' || (err as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new ConflictError(`CA "${record.name}" already exists at ${dir}; choose another --ca name`, { cause: err });
      }
      throw this.ioError(err, `create CA directory ${dir}`);
    }
  }

  async getCaKey(ca: string): Promise<string> {
    const path = join(this.caDir(ca), 'ca.key');
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new NotFoundError(`CA "${ca}" has no key in the file store (${path}); its key is held elsewhere — sign with the backend that holds it`);
      }
      throw this.ioError(err, `read ${path}`);
    }
  }

  async putIssued(ca: string, items: IssuedCertificate[]): Promise<void> {
    if (items.length === 0) return;
    await this.withLock(ca, () => {
      const dir = this.caDir(ca);
      const index = this.index(ca);
      index.ensureCurrent();
      // A few serials: ask the index; a fleet batch: one scan of the inventory is cheaper.
      const used = new Set<string>();
      if (items.length > 64) {
        for (const m of this.readInventoryBytes(ca)
          .toString('latin1')
          .matchAll(/"serial":"([0-9A-F]+)"/g))
          used.add(m[1]);
      } else {
        for (const item of items) if (index.lookup(item.record.serial)?.length) used.add(item.record.serial);
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
      const files = [{ path: join(dir, 'certs', certFile), data: Buffer.concat(certParts), mode: 0o600 }];
      if (keyParts.length) files.push({ path: join(dir, 'keys', certFile), data: Buffer.concat(keyParts), mode: 0o600 });
      writeFilesAtomic(files);
      const start = this.appendInventory(ca, `${lines.join('\n')}\n`);
      index.append(
        start,
        items.map((item, i) => ({ serial: item.record.serial, length: Buffer.byteLength(lines[i]) })),
      );
    });
  }

  async get(ca: string, serial: string): Promise<{ record: CertificateRecord; certPem: string } | undefined> {
    const found = this.findEvents(ca, serial);
    if (!found) return undefined;
    const { record, cert } = found;
    return { record, certPem: this.readPack(ca, 'certs', cert) };
  }

  async getKey(ca: string, serial: string): Promise<string | undefined> {
    const found = this.findEvents(ca, serial);
    return found?.key ? this.readPack(ca, 'keys', found.key) : undefined;
  }

  async list(ca: string, filter: ListFilter = {}): Promise<CertificateRecord[]> {
    return applyListFilter([...this.recordsBySerial(ca).values()], filter);
  }

  async hasSerial(ca: string, serial: string): Promise<boolean> {
    return this.readInventoryBytes(ca).includes(`"serial":"${serial}"`);
  }

  async markRevoked(ca: string, serials: string[], reason: RevocationReason, at: Date): Promise<CertificateRecord[]> {
    return this.withLock(ca, () => {
      const records = serials.length === 1 ? this.oneRecord(ca, serials[0]) : this.recordsBySerial(ca);
      const out = revokedRecords(ca, (serial) => records.get(serial), serials, reason, at);
      const index = this.index(ca);
      index.ensureCurrent();
      const lines = serials.map((serial) => JSON.stringify({ e: 'revoke', serial, revokedAt: at.toISOString(), reason } satisfies InventoryEvent));
      const start = this.appendInventory(ca, `${lines.join('\n')}\n`);
      index.append(
        start,
        serials.map((serial, i) => ({ serial, length: Buffer.byteLength(lines[i]) })),
      );
      return out;
    });
  }

  private oneRecord(ca: string, serial: string): Map<string, CertificateRecord> {
    const found = this.findEvents(ca, serial);
    return new Map(found ? [[serial, found.record]] : []);
  }

  private recordsBySerial(ca: string): Map<string, CertificateRecord> {
    const records = new Map<string, CertificateRecord>();
    for (const event of this.readInventory(ca)) {
      if (event.e === 'issue') {
        const { e: _e, cert: _c, key: _k, ...record } = event;
        records.set(record.serial, record);
      } else {
        const r = records.get(event.serial);
        if (r) Object.assign(r, { status: 'revoked', revokedAt: event.revokedAt, revocationReason: event.reason });
      }
    }
    return records;
  }

  async nextCrlNumber(ca: string): Promise<bigint> {
    return this.advanceCrlNumber(ca, (current) => current + 1n);
  }

  async raiseCrlNumber(ca: string, atLeast: bigint): Promise<bigint> {
    return this.advanceCrlNumber(ca, (current) => (current >= atLeast ? current : atLeast));
  }

  /** Moves the CRL counter to `next(current)` under the CA lock; writes only when it changes. */
  private advanceCrlNumber(ca: string, next: (current: bigint) => bigint): Promise<bigint> {
    return this.withLock(ca, () => {
      const path = join(this.caDir(ca), 'crlnumber');
      const current = existsSync(path) ? BigInt(readFileSync(path, 'utf8').trim() || '0') : 0n;
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
    await this.withLock(ca, () => {
      const aside = join(this.options.dir, `.deleted-${ca}-${randomBytes(4).toString('hex')}`);
      try {
        renameSync(dir, aside);
        unlinkSync(join(aside, CA_META));
        fsyncDir(this.options.dir);
        rmSync(aside, { recursive: true, force: true });
      } catch (err) {
        throw this.ioError(err, `delete the directory of CA "${ca}" (${dir})`);
      }
    });
  }

  /** Removes ca.key under the CA's lock (after `migrate --import-ca-key --signer` moved it into a signer). */
  async removeCaKey(ca: string): Promise<void> {
    if (!existsSync(join(this.caDir(ca), CA_META))) throw new NotFoundError(`no CA "${ca}" in the file store (${this.caDir(ca)})`);
    await this.withLock(ca, () => {
      try {
        rmSync(join(this.caDir(ca), 'ca.key'), { force: true });
        fsyncDir(this.caDir(ca));
      } catch (err) {
        throw this.ioError(err, `remove the key of CA "${ca}" (${join(this.caDir(ca), 'ca.key')})`);
      }
    });
  }

  async recordEvent(event: AuditEvent): Promise<void> {
    const path = join(this.caDir(event.ca), 'audit.jsonl');
    const fd = openSync(path, 'a', 0o600);
    try {
      writeSync(fd, `${JSON.stringify({ ...event, user: process.env.USER ?? String(process.getuid?.() ?? '') })}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  /** Issue and revoke events of one serial, found by a byte search instead of parsing every line. */
  private findEvents(ca: string, serial: string): { record: CertificateRecord; cert: PackRef; key?: PackRef } | undefined {
    const index = this.index(ca);
    const refs = existsSync(join(this.caDir(ca), INVENTORY)) ? index.lookup(serial) : undefined;
    if (refs) return this.foldEvents(index.readLines(refs).map((line) => JSON.parse(line) as InventoryEvent));
    // No usable index: search the raw bytes, which skips decoding a 50 MB inventory into a string.
    const bytes = this.readInventoryBytes(ca);
    const needle = Buffer.from(`"serial":"${serial}"`);
    const events: InventoryEvent[] = [];
    for (let at = bytes.indexOf(needle); at !== -1; at = bytes.indexOf(needle, at + needle.length)) {
      const start = bytes.lastIndexOf(0x0a, at) + 1;
      const end = bytes.indexOf(0x0a, at);
      if (end === -1) break; // torn last line
      events.push(JSON.parse(bytes.toString('utf8', start, end)) as InventoryEvent);
    }
    return this.foldEvents(events);
  }

  /** Folds one serial's issue and revoke events into its current record. */
  private foldEvents(events: InventoryEvent[]): { record: CertificateRecord; cert: PackRef; key?: PackRef } | undefined {
    let found: { record: CertificateRecord; cert: PackRef; key?: PackRef } | undefined;
    for (const event of events) {
      if (event.e === 'issue') {
        const { e: _e, cert, key, ...record } = event;
        found = { record, cert, key };
      } else if (found) {
        found.record = { ...found.record, status: 'revoked', revokedAt: event.revokedAt, revocationReason: event.reason };
      }
    }
    return found;
  }

  private readInventoryBytes(ca: string): Buffer {
    const path = join(this.caDir(ca), INVENTORY);
    try {
      return readFileSync(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new NotFoundError(`no CA named "${ca}" in the file store at ${this.options.dir}; create it with \`certctl init --cn NAME\``);
      }
      throw this.ioError(err, `read ${path}`);
    }
  }

  private readInventory(ca: string): InventoryEvent[] {
    const text = this.readInventoryBytes(ca).toString('utf8');
    const lines = text.split('\n');
    lines.pop(); // '' after the final newline, or a torn line a crash left behind
    return lines.map((line, i) => {
      try {
        return JSON.parse(line) as InventoryEvent;
      } catch (err) {
        throw new InternalError(`${join(this.caDir(ca), INVENTORY)} line ${i + 1} is corrupt; restore it from a backup`, { cause: err });
      }
    });
  }

  private readPack(ca: string, kind: 'certs' | 'keys', [file, offset, length]: PackRef): string {
    const path = join(this.caDir(ca), kind, file);
    const fd = openSync(path, 'r');
    try {
      const buf = Buffer.alloc(length);
      readSync(fd, buf, 0, length, offset);
      return buf.toString('utf8');
    } finally {
      closeSync(fd);
    }
  }

  /** Appends whole lines durably, first cutting off a torn line left by a crash. */
  /** Returns the byte offset the lines were written at. */
  private appendInventory(ca: string, lines: string): number {
    const fd = openSync(join(this.caDir(ca), INVENTORY), 'r+');
    try {
      let size = fstatSync(fd).size;
      if (size > 0) {
        const tail = Buffer.alloc(Math.min(size, 65536));
        readSync(fd, tail, 0, tail.length, size - tail.length);
        if (tail[tail.length - 1] !== 0x0a) {
          size = size - tail.length + tail.lastIndexOf(0x0a) + 1;
          ftruncateSync(fd, size);
        }
      }
      const buf = Buffer.from(lines);
      for (let off = 0; off < buf.length;) off += writeSync(fd, buf, off, buf.length - off, size + off);
      fsyncSync(fd);
      return size;
    } finally {
      closeSync(fd);
    }
  }

  private async withLock<T>(ca: string, fn: () => T): Promise<T> {
    const dir = this.caDir(ca);
    if (!existsSync(join(dir, CA_META))) {
      throw new NotFoundError(`no CA named "${ca}" in the file store at ${this.options.dir}; create it with \`certctl init --cn NAME\``);
    }
    let release: () => Promise<void>;
    try {
      release = await lockfile.lock(dir, {
        lockfilePath: join(dir, '.lock'),
        realpath: false,
        stale: 30000,
        retries: { retries: 200, factor: 1.3, minTimeout: 5, maxTimeout: 250 },
      });
    } catch (err) {
      throw new BackendUnavailableError(`the file store of CA "${ca}" is locked by another certctl process (${join(dir, '.lock')}); try again`, { cause: err });
    }
    try {
      return fn();
    } finally {
      await release();
    }
  }

  private ioError(err: unknown, what: string): Error {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') {
      return new BackendUnavailableError(`cannot ${what}: permission denied; check the owner and mode of ${this.options.dir}`, { cause: err });
    }
    return new InternalError(`cannot ${what}: ${code ?? (err as Error).message}`, { cause: err });
  }
}
