import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, fchmodSync, fsyncSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** A file to be written: its path, content and permission bits. */
export interface FileToWrite {
  path: string;
  data: string | Buffer;
  /** 0o600 for anything secret; applied with fchmod, so the umask cannot widen or narrow it. */
  mode: number;
}

/**
 * Creates a directory (and parents) and sets it to `mode` whatever the umask.
 * Only the leaf directory's mode is forced; parents created on the way get 0o700 too.
 */
export function ensureDir(path: string, mode = 0o700): void {
  const created = mkdirSync(path, { recursive: true, mode });
  chmodSync(path, mode);
  if (created) {
    // mkdir's mode is filtered by the umask: force every directory this call created.
    for (let p = dirname(path); p.length >= created.length && p !== dirname(p); p = dirname(p)) chmodSync(p, mode);
  }
}

/** fsyncs a directory so a rename inside it survives a crash. */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function writeTemp(file: FileToWrite, durable: boolean): string {
  const tmp = join(dirname(file.path), `.${basename(file.path)}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'wx', file.mode);
  try {
    fchmodSync(fd, file.mode);
    const buf = typeof file.data === 'string' ? Buffer.from(file.data) : file.data;
    for (let off = 0; off < buf.length; ) off += writeSync(fd, buf, off, buf.length - off);
    if (durable) fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    safeUnlink(tmp);
    throw err;
  }
  closeSync(fd);
  return tmp;
}

/**
 * Writes files all-or-nothing: every file goes to a temp name in its directory (fsynced
 * when `durable`), and only when all are written are they renamed into place, so a crash
 * or error never leaves a half file under a real name.
 * @throws the underlying fs error after removing every temp file.
 */
export function writeFilesAtomic(files: FileToWrite[], durable = true): void {
  const temps: string[] = [];
  try {
    for (const file of files) temps.push(writeTemp(file, durable));
  } catch (err) {
    temps.forEach(safeUnlink);
    throw err;
  }
  files.forEach((file, i) => renameSync(temps[i], file.path));
  if (durable) for (const dir of new Set(files.map((f) => dirname(f.path)))) fsyncDir(dir);
}

/** Writes one file atomically and durably. */
export function writeFileAtomic(path: string, data: string | Buffer, mode: number): void {
  writeFilesAtomic([{ path, data, mode }]);
}

function safeUnlink(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    /* already gone */
  }
}
