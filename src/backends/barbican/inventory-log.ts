// A CA's inventory in Barbican: an append-only log of opaque JSON segments (issue, revoke and
// CRL-number events). Barbican secrets are immutable, so a revocation is a new segment, never
// an edit; a batch's segment is written after its objects and is its commit point. Many small
// segments are merged into few full ones (compaction) so a read stays cheap.
import { randomBytes } from 'node:crypto';
import { mapLimit } from '../../core/concurrency';
import { CertctlError, InternalError, NotFoundError } from '../../core/errors';
import type { CertificateRecord, RevocationReason } from '../../core/types';
import type { BarbicanClient } from './client';
import { parseJson, type ObjectNames } from './object-map';
import { WriteJournal, type WriteRollback } from './write-rollback';

/** One event of a CA's inventory log. */
export type InventoryEvent =
  | { t: 'issue'; record: CertificateRecord; cert: string; key?: string; container: string }
  | { t: 'revoke'; serial: string; reason: RevocationReason; at: string }
  | { t: 'crl'; n: string };

type IssueEvent = Extract<InventoryEvent, { t: 'issue' }>;
type RevokeEvent = Extract<InventoryEvent, { t: 'revoke' }>;

/** A CA's inventory as read from its log: the issue event of each serial (revocations applied) and the CRL number. */
export interface Inventory {
  entries: Map<string, IssueEvent>;
  crlMax: bigint;
}

/** A segment as read: its id, when Barbican created it, and its events as written. */
export interface LoadedSegment {
  id: string;
  created: number;
  events: InventoryEvent[];
}

/**
 * Inventory segments stay well under Barbican's 20,000-character payload limit: a request body
 * over ~25,000 bytes is refused as malformed JSON, and JSON-in-JSON escapes every quote.
 */
const SEGMENT_CHARS = 12_000;
/** Merge the log when it has this many segments and could fit in half as many. */
const COMPACT_AT = 48;
/** Segments younger than this are never compacted: their writer may still be rolling back. */
const COMPACT_GRACE_MS = 15 * 60 * 1000;
/** How many of the newest segments a rollback searches for one whose answer was lost. */
const UNCERTAIN_SEGMENT_WINDOW = 16;

/** Reads, appends to and compacts the inventory logs of one store's CAs. */
export class InventoryLog {
  constructor(
    private readonly client: BarbicanClient,
    private readonly names: ObjectNames,
    private readonly rollback: WriteRollback,
  ) {}

  /**
   * Reads a CA's log: one list call per 100 segments, one payload read per segment. Barbican
   * pages by offset with only the creation second to sort on, so a listing is checked against
   * the total it reports, and a segment deleted by a concurrent compaction (404) means: list
   * again. A consistent read is then compacted when it has grown.
   * @throws InternalError for a segment certctl did not write; the client's CertctlErrors.
   */
  async read(ca: string): Promise<Inventory> {
    let loaded: LoadedSegment[] = [];
    let consistent = false;
    for (let attempt = 0; attempt < 3 && !consistent; attempt++) {
      const { items, total } = await this.client.listSecretsWithTotal({ name: this.names.inventory(ca), secretType: 'opaque' });
      const unique = [...new Map(items.map((s) => [s.id, s])).values()];
      try {
        const payloads = await mapLimit(unique, 8, (s) => this.client.getPayload(s.id, `inventory segment ${s.id}`));
        loaded = unique.map((s, i) => ({ id: s.id, created: Date.parse(s.created) || 0, events: parseSegment(payloads[i], s.id) }));
      } catch (err) {
        if (err instanceof NotFoundError && attempt < 2) continue;
        throw err;
      }
      consistent = total === undefined || unique.length >= total;
    }
    const inventory = foldSegments(loaded);
    if (consistent) await this.compact(ca, loaded);
    return inventory;
  }

  /**
   * Appends events as one or more segments, each recorded in `journal` for the rollback; a
   * segment whose answer was lost is recognised later by its payload (the nonce inside it).
   */
  async append(ca: string, events: InventoryEvent[], journal: WriteJournal): Promise<void> {
    for (const chunk of chunkEvents(events)) await this.writeSegment(ca, chunk, journal);
  }

  private async writeSegment(ca: string, chunk: { text: string; nonce: string }, journal: WriteJournal): Promise<void> {
    const name = this.names.inventory(ca);
    // Every segment shares this name: only the payload tells ours apart, never the name alone.
    await journal.create('secret', name, () => this.client.createSecret(name, 'opaque', chunk.text), {
      by: 'name-and-payload',
      payload: chunk.text,
      newest: UNCERTAIN_SEGMENT_WINDOW,
      recognise: `whose payload holds "w":"${chunk.nonce}"`,
    });
  }

  /**
   * Merges many small segments (one per `issue` command) into few full ones, so reading the
   * inventory stays at about one call per 25 certificates. Only segments older than
   * {@link COMPACT_GRACE_MS} are merged: a younger one may still be rolled back by the process
   * that wrote it. Merged segments are written before the old ones are deleted; a reader in
   * between sees duplicates, which are harmless.
   *
   * Compaction is an optimisation inside a read, and nothing a failed one leaves behind is an
   * orphan: a merged segment its undo could not delete, or an old segment not yet deleted,
   * holds events that are still true; events commute, duplicates are folded away, and the next
   * compaction merges them again. So a failure (a reader role may not create secrets; Barbican
   * went away) is undone at once, without the write rollback's wait, and the read's answer
   * stands. Only certctl's own errors are taken this way: anything else is a bug and is thrown.
   */
  private async compact(ca: string, loaded: LoadedSegment[]): Promise<void> {
    const old = loaded.filter((s) => s.created > 0 && s.created < Date.now() - COMPACT_GRACE_MS);
    if (old.length < COMPACT_AT) return;
    const chunks = chunkEvents(compactedEvents(old));
    if (chunks.length * 2 > old.length) return;
    const journal = new WriteJournal();
    try {
      for (const chunk of chunks) await this.writeSegment(ca, chunk, journal);
    } catch (err) {
      if (!(err instanceof CertctlError)) throw err;
      await this.rollback.undo(journal, 0);
      return;
    }
    await mapLimit(
      old.map((s) => s.id),
      4,
      (id) => this.client.deleteSecret(id),
    ).catch((err: unknown) => {
      if (!(err instanceof CertctlError)) throw err;
    });
  }
}

/**
 * Folds segments into an inventory. Events commute: issues first, then revocations (the
 * earliest wins), so segment order and duplicates left by an interrupted compaction do not matter.
 */
export function foldSegments(segments: LoadedSegment[]): Inventory {
  const inventory: Inventory = { entries: new Map(), crlMax: 0n };
  const revocations: RevokeEvent[] = [];
  for (const event of segments.flatMap((s) => s.events)) {
    if (event.t === 'issue') inventory.entries.set(event.record.serial, event);
    else if (event.t === 'revoke') revocations.push(event);
    else if (BigInt(event.n) > inventory.crlMax) inventory.crlMax = BigInt(event.n);
  }
  revocations.sort((a, b) => a.at.localeCompare(b.at));
  for (const r of revocations) {
    const entry = inventory.entries.get(r.serial);
    if (entry && entry.record.status !== 'revoked') entry.record = { ...entry.record, status: 'revoked', revokedAt: r.at, revocationReason: r.reason };
  }
  return inventory;
}

/**
 * The events of segments about to be merged, deduplicated: one issue per serial, the earliest
 * revocation per serial (revocations of certificates in younger segments survive), the highest
 * CRL number.
 */
export function compactedEvents(segments: LoadedSegment[]): InventoryEvent[] {
  const issues = new Map<string, InventoryEvent>();
  const revokes = new Map<string, RevokeEvent>();
  let crl = 0n;
  for (const e of segments.flatMap((s) => s.events)) {
    if (e.t === 'issue') issues.set(e.record.serial, e);
    else if (e.t === 'revoke') {
      const seen = revokes.get(e.serial);
      if (!seen || e.at < seen.at) revokes.set(e.serial, e);
    } else if (BigInt(e.n) > crl) crl = BigInt(e.n);
  }
  const crlEvent: InventoryEvent[] = crl > 0n ? [{ t: 'crl', n: String(crl) }] : [];
  return [...issues.values(), ...revokes.values(), ...crlEvent];
}

/**
 * Splits events into JSON segments under {@link SEGMENT_CHARS}; one oversized event gets a
 * segment of its own. Each segment carries a random nonce `w`, so a write whose answer was lost
 * can be recognised.
 */
export function chunkEvents(events: InventoryEvent[]): { text: string; nonce: string }[] {
  const out: { text: string; nonce: string }[] = [];
  let current: string[] = [];
  let size = 0;
  const flush = () => {
    const nonce = randomBytes(8).toString('hex');
    out.push({ text: `{"v":1,"w":"${nonce}","events":[${current.join(',')}]}`, nonce });
    current = [];
    size = 0;
  };
  for (const e of events) {
    const line = JSON.stringify(e);
    if (current.length && size + line.length > SEGMENT_CHARS) flush();
    current.push(line);
    size += line.length + 1;
  }
  if (current.length) flush();
  return out;
}

/** A segment's events, checked for shape so a foreign or damaged secret is named, not crashed on. */
function parseSegment(text: string, id: string): InventoryEvent[] {
  const parsed = parseJson<{ events?: unknown }>(text, `inventory segment ${id}`);
  const events = Array.isArray(parsed?.events) ? (parsed.events as InventoryEvent[]) : undefined;
  const valid = events?.every(
    (e) =>
      (e?.t === 'issue' && typeof e.record?.serial === 'string') ||
      (e?.t === 'revoke' && typeof e.serial === 'string' && typeof e.at === 'string') ||
      (e?.t === 'crl' && /^\d+$/.test(String(e.n))),
  );
  if (!events || !valid) {
    throw new InternalError(
      `inventory segment ${id} in Barbican is not a certctl inventory segment; it was written or changed outside certctl — move it away (\`openstack secret delete\`) after checking what it is`,
    );
  }
  return events;
}
