import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readFileSync, readSync, readdirSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDir, writeFilesAtomic } from '../../core/fs-atomic';
import { exists, isMissing } from './fs-errors';

/** Where one inventory line sits: byte offset and length (without the newline). */
export interface LineRef {
  offset: number;
  length: number;
}

/**
 * What the index claims (`index/covered`): the inventory bytes it describes, and the length and
 * digest of every shard that has content. A shard with no entry must be empty or absent.
 */
interface Coverage {
  inventory: number;
  shards: Record<string, [length: number, digest: string]>;
}

/** 64 bits of SHA-256: enough to tell a shard a crash left short, zero-filled or stale from the one `covered` describes. */
function digest(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 16);
}

/**
 * An index from serial to the inventory lines that mention it, sharded by the serial's first
 * byte (`index/3A`, lines "SERIAL OFFSET LENGTH"), so `show` reads ~20 KB instead of a 50 MB
 * inventory. It is a cache, and it is written without fsync: the inventory's own fsync is
 * what makes a certificate or revocation durable. So a crash (or power loss) may leave any
 * mix of old, new, short or zero-filled index files, and the index is only believed when it
 * proves itself: `index/covered` records how many inventory bytes it describes and each shard's
 * length and digest, and a reader uses a shard only when the inventory has exactly that size
 * and the shard exactly that length and digest. Otherwise readers scan the inventory and
 * writers (under the CA lock) rebuild the index from it, so a lost index write costs one
 * rebuild, never a wrong answer.
 * A missing index file is part of that design; any other fs error (EACCES…) is thrown, for the
 * store to translate: a shard that cannot be read must never read as "no such serial".
 */
export class SerialIndex {
  constructor(
    private readonly caDir: string,
    private readonly inventory: string,
  ) {}

  private get dir(): string {
    return join(this.caDir, 'index');
  }

  /** What `covered` claims; undefined when there is none or it is not whole (older certctl's bare byte count, a torn write). */
  private coverage(): Coverage | undefined {
    let text: string;
    try {
      text = readFileSync(join(this.dir, 'covered'), 'utf8');
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
    try {
      const parsed = JSON.parse(text) as Partial<Coverage> | null;
      if (typeof parsed?.inventory !== 'number' || typeof parsed.shards !== 'object' || parsed.shards === null) return undefined;
      return parsed as Coverage;
    } catch {
      return undefined;
    }
  }

  /** The coverage when it describes the whole inventory as it is now (`size`: its size when the caller knows it). */
  private current(size?: number): Coverage | undefined {
    const coverage = this.coverage();
    if (!coverage) return undefined;
    if (size === undefined) {
      if (!exists(this.inventory)) return undefined;
      size = statSync(this.inventory).size;
    }
    return coverage.inventory === size ? coverage : undefined;
  }

  private readShard(shard: string): Buffer {
    try {
      return readFileSync(join(this.dir, shard));
    } catch (err) {
      // No shard yet: no serial starting with these two digits was ever indexed.
      if (isMissing(err)) return Buffer.alloc(0);
      throw err;
    }
  }

  /** Whether a shard's bytes are the ones `coverage` describes. */
  private static matches(coverage: Coverage, shard: string, bytes: Buffer): boolean {
    const entry = coverage.shards[shard];
    if (!entry) return bytes.length === 0;
    return bytes.length === entry[0] && digest(bytes) === entry[1];
  }

  /** The inventory lines of a serial (possibly none), or undefined when the index cannot be trusted. */
  lookup(serial: string): LineRef[] | undefined {
    const coverage = this.current();
    if (!coverage) return undefined;
    const shard = serial.slice(0, 2);
    const bytes = this.readShard(shard);
    if (!SerialIndex.matches(coverage, shard, bytes)) return undefined;
    const text = bytes.toString('latin1');
    const refs: LineRef[] = [];
    const needle = `${serial} `;
    for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + 1)) {
      if (at > 0 && text[at - 1] !== '\n') continue;
      const [, offset, length] = text.slice(at, text.indexOf('\n', at)).split(' ');
      refs.push({ offset: Number(offset), length: Number(length) });
    }
    return refs;
  }

  /**
   * Whether the inventory mentions a serial, for a writer (caller holds the CA lock): through the
   * index, rebuilt first when it cannot be trusted; by a scan of the inventory while a torn last
   * line (cut off by the next append) keeps the index from covering the whole file.
   */
  has(serial: string): boolean {
    let refs = this.lookup(serial);
    if (!refs) {
      this.rebuild();
      refs = this.lookup(serial);
    }
    if (refs) return refs.length > 0;
    return readFileSync(this.inventory).includes(`"serial":"${serial}"`);
  }

  /** Reads the referenced inventory lines. */
  readLines(refs: LineRef[]): string[] {
    const fd = openSync(this.inventory, 'r');
    try {
      return refs.map(({ offset, length }) => {
        const buf = Buffer.alloc(length);
        readSync(fd, buf, 0, length, offset);
        return buf.toString('utf8');
      });
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Records lines just appended at `start` (caller holds the CA lock). When the index did not
   * describe the inventory up to `start`, or a shard to extend is not what `covered` says, the
   * whole index is rebuilt from the inventory instead (which by now holds the new lines).
   */
  append(start: number, lines: { serial: string; length: number }[]): void {
    const coverage = this.coverage();
    if (coverage?.inventory !== start) return this.rebuild();
    const added = new Map<string, string[]>();
    let offset = start;
    for (const { serial, length } of lines) {
      const shard = serial.slice(0, 2);
      if (!added.has(shard)) added.set(shard, []);
      added.get(shard)!.push(`${serial} ${offset} ${length}\n`);
      offset += length + 1;
    }
    const before = new Map<string, Buffer>();
    for (const shard of added.keys()) {
      const bytes = this.readShard(shard);
      if (!SerialIndex.matches(coverage, shard, bytes)) return this.rebuild();
      before.set(shard, bytes);
    }
    ensureDir(this.dir);
    for (const [shard, entries] of added) {
      const text = Buffer.from(entries.join(''), 'latin1');
      const fd = openSync(join(this.dir, shard), 'a', 0o600);
      try {
        for (let off = 0; off < text.length;) off += writeSync(fd, text, off, text.length - off);
      } finally {
        closeSync(fd);
      }
      const after = Buffer.concat([before.get(shard)!, text]);
      coverage.shards[shard] = [after.length, digest(after)];
    }
    coverage.inventory = offset;
    this.writeCoverage(coverage);
  }

  /** Rebuilds the whole index from the inventory when it does not describe it (caller holds the lock). */
  ensureCurrent(): void {
    if (!this.current()) this.rebuild();
  }

  /** Writes every shard from the inventory's complete lines, removes shards of serials no longer there, then `covered`. */
  private rebuild(): void {
    const fd = openSync(this.inventory, 'r');
    let bytes: Buffer;
    try {
      bytes = Buffer.alloc(fstatSync(fd).size);
      readSync(fd, bytes, 0, bytes.length, 0);
    } finally {
      closeSync(fd);
    }
    const shards = new Map<string, string[]>();
    let start = 0;
    for (let end = bytes.indexOf(0x0a); end !== -1; start = end + 1, end = bytes.indexOf(0x0a, start)) {
      const m = /"serial":"([0-9A-F]+)"/.exec(bytes.toString('latin1', start, Math.min(end, start + 200)));
      if (!m) continue;
      const shard = m[1].slice(0, 2);
      if (!shards.has(shard)) shards.set(shard, []);
      shards.get(shard)!.push(`${m[1]} ${start} ${end - start}\n`);
    }
    ensureDir(this.dir);
    const coverage: Coverage = { inventory: start, shards: {} };
    const files = [...shards].map(([shard, entries]) => {
      const data = Buffer.from(entries.join(''), 'latin1');
      coverage.shards[shard] = [data.length, digest(data)];
      return { path: join(this.dir, shard), data, mode: 0o600 };
    });
    writeFilesAtomic(files, false);
    // Shards of serials no longer present (inventory restored from an older backup) must go too.
    for (const name of readdirSync(this.dir)) {
      if (/^[0-9A-F]{2}$/.test(name) && !shards.has(name)) unlinkSync(join(this.dir, name));
    }
    this.writeCoverage(coverage);
  }

  private writeCoverage(coverage: Coverage): void {
    writeFilesAtomic([{ path: join(this.dir, 'covered'), data: JSON.stringify(coverage), mode: 0o600 }], false);
  }
}
