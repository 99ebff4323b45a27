// The file store's inventory.jsonl and pack files: the events of one line each, folding them
// into records, and the byte-level reads and appends (file-cert-store.ts takes the lock).
import { closeSync, fstatSync, fsyncSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';
import { InternalError } from '../../core/errors';
import type { CertificateRecord, RevocationReason } from '../../core/types';

/** Where an object sits inside a pack file: [file name, byte offset, byte length]. */
export type PackRef = [string, number, number];

/** One line of inventory.jsonl. */
export type InventoryEvent =
  ({ e: 'issue'; cert: PackRef; key?: PackRef } & CertificateRecord) | { e: 'revoke'; serial: string; revokedAt: string; reason: RevocationReason };

/** A certificate's current record and where its certificate and key sit. */
export interface FoundCertificate {
  record: CertificateRecord;
  cert: PackRef;
  key?: PackRef;
}

/** Folds one serial's issue and revoke events into its current record. */
export function foldEvents(events: InventoryEvent[]): FoundCertificate | undefined {
  let found: FoundCertificate | undefined;
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

/** Every serial's current record, from the whole inventory. */
export function recordsBySerial(events: InventoryEvent[]): Map<string, CertificateRecord> {
  const records = new Map<string, CertificateRecord>();
  for (const event of events) {
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

/** The events of one serial, found by a byte search, which skips decoding a 50 MB inventory into a string. */
export function eventsOfSerial(bytes: Buffer, serial: string): InventoryEvent[] {
  const needle = Buffer.from(`"serial":"${serial}"`);
  const events: InventoryEvent[] = [];
  for (let at = bytes.indexOf(needle); at !== -1; at = bytes.indexOf(needle, at + needle.length)) {
    const start = bytes.lastIndexOf(0x0a, at) + 1;
    const end = bytes.indexOf(0x0a, at);
    if (end === -1) break; // torn last line
    events.push(JSON.parse(bytes.toString('utf8', start, end)) as InventoryEvent);
  }
  return events;
}

/**
 * Every event of an inventory; a torn last line (a crash mid-append) is ignored.
 * @throws InternalError naming the line that is not JSON.
 */
export function parseInventory(bytes: Buffer, path: string): InventoryEvent[] {
  const lines = bytes.toString('utf8').split('\n');
  lines.pop(); // '' after the final newline, or a torn line a crash left behind
  return lines.map((line, i) => {
    try {
      return JSON.parse(line) as InventoryEvent;
    } catch (err) {
      throw new InternalError(`${path} line ${i + 1} is corrupt; restore it from a backup`, { cause: err });
    }
  });
}

/** One certificate or key out of a pack file. */
export function readPack(path: string, [, offset, length]: PackRef): string {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(length);
    readSync(fd, buf, 0, length, offset);
    return buf.toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * Appends whole lines durably, first cutting off a torn line left by a crash; returns the byte
 * offset the lines were written at. The caller holds the CA lock.
 */
export function appendLines(path: string, lines: string): number {
  const fd = openSync(path, 'r+');
  try {
    const size = cutTornLineOf(fd);
    const buf = Buffer.from(lines);
    for (let off = 0; off < buf.length;) off += writeSync(fd, buf, off, buf.length - off, size + off);
    fsyncSync(fd);
    return size;
  } finally {
    closeSync(fd);
  }
}

/**
 * Cuts off a torn last line a crash left, so that every byte of the file is a whole line
 * (caller holds the CA lock). Not fsynced: a torn line that comes back after a crash is
 * ignored by readers and cut again; the next append's fsync makes the cut durable.
 */
export function cutTornLine(path: string): void {
  const fd = openSync(path, 'r+');
  try {
    cutTornLineOf(fd);
  } finally {
    closeSync(fd);
  }
}

/** Cuts a torn last line off an open file; returns the size of its whole lines. */
function cutTornLineOf(fd: number): number {
  let size = fstatSync(fd).size;
  // The last byte tells; the tail is only read to find where a torn line starts.
  const last = Buffer.alloc(1);
  if (size === 0 || (readSync(fd, last, 0, 1, size - 1) === 1 && last[0] === 0x0a)) return size;
  const tail = Buffer.alloc(Math.min(size, 65536));
  readSync(fd, tail, 0, tail.length, size - tail.length);
  size = size - tail.length + tail.lastIndexOf(0x0a) + 1;
  ftruncateSync(fd, size);
  return size;
}
