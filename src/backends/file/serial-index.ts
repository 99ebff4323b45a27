import { closeSync, fstatSync, openSync, readFileSync, readSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDir, flushFiles, writeFileAtomic, writeFilesAtomic } from '../../core/fs-atomic';
import { exists, isMissing } from './fs-errors';

/** Where one inventory line sits: byte offset and length (without the newline). */
export interface LineRef {
  offset: number;
  length: number;
}

/**
 * An index from serial to the inventory lines that mention it, sharded by the serial's first
 * byte (`index/3A`, lines "SERIAL OFFSET LENGTH"), so `show` reads ~20 KB instead of a 50 MB
 * inventory. It is a cache: `index/covered` records how many inventory bytes it describes,
 * and whenever that differs from the inventory's size (a crash between the two appends, a
 * restored backup) readers fall back to scanning and the next writer rebuilds it.
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

  /** How many inventory bytes the index describes; -1 when there is no index yet. */
  private covered(): number {
    try {
      return Number(readFileSync(join(this.dir, 'covered'), 'utf8'));
    } catch (err) {
      if (isMissing(err)) return -1;
      throw err;
    }
  }

  /** Whether the index describes the whole inventory as it is now. */
  isCurrent(): boolean {
    return exists(this.inventory) && this.covered() === statSync(this.inventory).size;
  }

  /** The inventory lines of a serial (possibly none), or undefined when the index cannot be trusted. */
  lookup(serial: string): LineRef[] | undefined {
    if (!this.isCurrent()) return undefined;
    let text: string;
    try {
      text = readFileSync(join(this.dir, serial.slice(0, 2)), 'latin1');
    } catch (err) {
      // No shard yet: no serial starting with these two digits was ever indexed.
      if (isMissing(err)) return [];
      throw err;
    }
    const refs: LineRef[] = [];
    const needle = `${serial} `;
    for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + 1)) {
      if (at > 0 && text[at - 1] !== '\n') continue;
      const [, offset, length] = text.slice(at, text.indexOf('\n', at)).split(' ');
      refs.push({ offset: Number(offset), length: Number(length) });
    }
    return refs;
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

  /** Records lines just appended at `start` (caller holds the CA lock; the index must have been current before the append). */
  append(start: number, lines: { serial: string; length: number }[]): void {
    const shards = new Map<string, string[]>();
    let offset = start;
    for (const { serial, length } of lines) {
      const shard = serial.slice(0, 2);
      if (!shards.has(shard)) shards.set(shard, []);
      shards.get(shard)!.push(`${serial} ${offset} ${length}\n`);
      offset += length + 1;
    }
    ensureDir(this.dir);
    const written: string[] = [];
    for (const [shard, entries] of shards) {
      const path = join(this.dir, shard);
      const fd = openSync(path, 'a', 0o600);
      try {
        writeSync(fd, entries.join(''));
      } finally {
        closeSync(fd);
      }
      written.push(path);
    }
    // Shards must be durable before `covered` claims them; a fleet batch touches all 256.
    flushFiles(written);
    writeFileAtomic(join(this.dir, 'covered'), String(offset), 0o600);
  }

  /** Rebuilds the whole index from the inventory when it is not current (caller holds the lock). */
  ensureCurrent(): void {
    if (this.isCurrent()) return;
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
    writeFilesAtomic([...shards].map(([shard, entries]) => ({ path: join(this.dir, shard), data: entries.join(''), mode: 0o600 })));
    // Shards of serials no longer present (inventory restored from an older backup) must go too.
    for (let i = 0; i < 256; i++) {
      const shard = i.toString(16).toUpperCase().padStart(2, '0');
      if (!shards.has(shard) && exists(join(this.dir, shard))) writeFileAtomic(join(this.dir, shard), '', 0o600);
    }
    writeFileAtomic(join(this.dir, 'covered'), String(start), 0o600);
  }
}
