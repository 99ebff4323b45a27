import { randomBytes } from 'node:crypto';
import type { CertStore } from '../../core/cert-store';
import { BackendUnavailableError, ConflictError, InternalError, NotFoundError, withContext } from '../../core/errors';
import { TransportError } from '../http/transport';
import { mapLimit, retryEachWithin } from '../../core/concurrency';
import { applyListFilter, checkDistinctSerials, revokedRecords } from '../../core/inventory';
import type { CaRecord, CertificateRecord, IssuedCertificate, ListFilter, RevocationReason } from '../../core/types';
import type { BarbicanClient } from './client';

/** The JSON kept in a CA's `ca-record` secret: the record and the ids of the CA's other objects. */
interface CaDoc {
  v: 1;
  record: CaRecord;
  ids: { cert: string; key?: string; chain?: string; bundle: string; container: string };
  /** Tells two racing `init`s apart. */
  nonce: string;
}

/** One line of a CA's inventory log. */
export type InventoryEvent =
  | { t: 'issue'; record: CertificateRecord; cert: string; key?: string; container: string }
  | { t: 'revoke'; serial: string; reason: RevocationReason; at: string }
  | { t: 'crl'; n: string };

/** A CA's inventory as read from its log segments. */
interface Inventory {
  entries: Map<string, Extract<InventoryEvent, { t: 'issue' }>>;
  crlMax: bigint;
}

/** A segment as read: its id, when Barbican created it, and its events as written. */
interface LoadedSegment {
  id: string;
  created: number;
  events: InventoryEvent[];
}

/**
 * What a multi-step write created, newest last. An object whose creation request may have
 * reached Barbican without its answer reaching certctl (connection lost, 5xx) is kept by what
 * identifies it instead of an id: its unique name, or the nonce inside an inventory segment.
 */
type CreatedObject =
  | { kind: 'secret' | 'container'; id: string }
  | { kind: 'secret' | 'container'; uncertainName: string; /** only an object with exactly this payload is ours */ payload?: string }
  | { kind: 'segment'; ca: string; uncertainNonce: string }
  | { kind: 'report'; what: string };
type Created = CreatedObject[];

/**
 * Inventory segments stay well under Barbican's 20,000-character payload limit: a request body
 * over ~25,000 bytes is refused as malformed JSON, and JSON-in-JSON escapes every quote.
 */
const SEGMENT_CHARS = 12_000;
/** Merge the log when it has this many segments and could fit in half as many. */
const COMPACT_AT = 48;
/** Segments younger than this are never compacted: their writer may still be rolling back. */
const COMPACT_GRACE_MS = 15 * 60 * 1000;

/**
 * CertStore over OpenStack Barbican (DESIGN.md "Two interfaces, three backends").
 *
 * Objects, all named under `<prefix>/<ca>/` so an operator can find them with
 * `openstack secret list --name`:
 * - `ca` (certificate), `ca-key` (private, PEM as given: encrypted when a passphrase was set),
 *   `ca-chain` (certificate, intermediates above the CA), `ca-bundle` (the CA and its chain, what
 *   leaf containers name as `intermediates`), a `certificate` container `ca`, and `ca-record`
 *   (opaque JSON: the CA record and the ids above), written last as the commit point;
 * - per issued certificate: `<serial>/cert` (certificate), `<serial>/key` (private, when certctl
 *   generated the key) and a `certificate` container `<serial> <CN>` with certificate,
 *   private_key and intermediates, the shape Octavia and Magnum consume;
 * - `inventory`: an append-only log of opaque JSON segments (issue, revoke and CRL-number events).
 *   Barbican secrets are immutable, so a revocation is a new segment, never an edit; a batch's
 *   segment is written after its objects and is its commit point.
 * A write that fails midway deletes what it created, containers first (deleting a container
 * leaves its secrets, so both are deleted).
 */
export class BarbicanCertStore implements CertStore {
  readonly kind = 'barbican';
  private readonly docs = new Map<string, CaDoc>();
  private readonly inventories = new Map<string, Inventory>();

  constructor(
    private readonly client: BarbicanClient,
    private readonly prefix: string,
    /** How long a rollback keeps trying to delete what it created while Barbican is unreachable. */
    private readonly cleanupWindowMs = 30_000,
  ) {}

  private name(ca: string, part: string): string {
    return `${this.prefix}/${ca}/${part}`;
  }

  async getCa(ca: string): Promise<CaRecord | undefined> {
    return (await this.doc(ca))?.record;
  }

  async listCas(): Promise<string[]> {
    const re = new RegExp(`^${this.prefix.replace(/[.]/g, '\\.')}/([^/]+)/ca-record$`);
    const names = (await this.client.listSecrets({ secretType: 'opaque' })).map((s) => re.exec(s.name)?.[1]).filter((n): n is string => !!n);
    return [...new Set(names)].sort();
  }

  async createCa(record: CaRecord, keyPem?: string): Promise<void> {
    const ca = record.name;
    if (await this.doc(ca)) throw new ConflictError(`CA "${ca}" already exists in Barbican (${this.name(ca, 'ca-record')}); choose another --ca name`);
    const created: Created = [];
    await this.rollbackOnFailure(created, `creating CA "${ca}"`, async () => {
      // A racing init may create objects of the same names: an uncertain write is matched by its
      // payload (the record carries a nonce), never by name alone.
      const secret = (part: string, type: 'certificate' | 'private' | 'opaque', payload: string) =>
        this.create(created, 'secret', this.name(ca, part), () => this.client.createSecret(this.name(ca, part), type, payload), true, payload);
      const cert = await secret('ca', 'certificate', record.certPem);
      const key = keyPem === undefined ? undefined : await secret('ca-key', 'private', keyPem);
      const chain = record.chainPem.length ? await secret('ca-chain', 'certificate', record.chainPem.join('')) : undefined;
      const bundle = await secret('ca-bundle', 'certificate', [record.certPem, ...record.chainPem].join(''));
      const container = await this.create(created, 'container', this.name(ca, 'ca'), () =>
        this.client.createCertificateContainer(this.name(ca, 'ca'), { certificate: cert, private_key: key, intermediates: chain }), false);
      const doc: CaDoc = { v: 1, record, ids: { cert, key, chain, bundle, container }, nonce: randomBytes(8).toString('hex') };
      await secret('ca-record', 'opaque', JSON.stringify(doc));
      // Barbican has no unique names: when two inits raced, the oldest record wins and the other undoes itself.
      this.docs.delete(ca);
      const winner = await this.doc(ca);
      if (winner?.nonce !== doc.nonce) throw new ConflictError(`CA "${ca}" was created by another certctl at the same time; nothing of this one was kept`);
    });
  }

  async getCaKey(ca: string): Promise<string> {
    const doc = await this.requireDoc(ca);
    if (!doc.ids.key) throw new NotFoundError(`CA "${ca}" has no key in Barbican (its signer keeps the key)`);
    return this.client.getPayload(doc.ids.key, `the key of CA "${ca}"`);
  }

  async putIssued(ca: string, items: IssuedCertificate[]): Promise<void> {
    const doc = await this.requireDoc(ca);
    checkDistinctSerials(items);
    // 128-bit random serials never collide in practice, but "no serial used twice" is checked, not assumed.
    for (const { record } of items) {
      if (await this.hasSerial(ca, record.serial)) throw new ConflictError(`serial ${record.serial} is already in CA "${ca}"; nothing was stored`);
    }
    const created: Created = [];
    const events: InventoryEvent[] = [];
    await this.rollbackOnFailure(created, `storing ${items.length} certificate${items.length === 1 ? '' : 's'}`, async () => {
      for (const item of items) {
        const serial = item.record.serial;
        // Names carry the serial, so an object whose answer was lost can be found and deleted.
        const certName = this.name(ca, `${serial}/cert`);
        const cert = await this.create(created, 'secret', certName, () => this.client.createSecret(certName, 'certificate', item.certPem));
        let key: string | undefined;
        if (item.keyPem !== undefined) {
          const keyName = this.name(ca, `${serial}/key`);
          key = await this.create(created, 'secret', keyName, () => this.client.createSecret(keyName, 'private', item.keyPem!));
        }
        // Barbican trims names; a backslash would be a LIKE escape on MySQL.
        const label = this.name(ca, `${serial}${item.record.commonName ? ` ${item.record.commonName.replace(/\\/g, '')}` : ''}`).slice(0, 255).trim();
        // Barbican accepts only refs under the host href of this very request; the bundle's is
        // derived from the certificate's fresh one (same prefix), not from one stored at init.
        this.client.rememberRef(doc.ids.bundle, this.client.refOf(cert)?.replace(/[^/]+$/, doc.ids.bundle));
        const container = await this.create(created, 'container', label, () =>
          this.client.createCertificateContainer(label, { certificate: cert, private_key: key, intermediates: doc.ids.bundle }),
        );
        events.push({ t: 'issue', record: item.record, cert, key, container });
      }
      await this.appendEvents(ca, events, created);
    });
    const inventory = this.inventories.get(ca);
    if (inventory) for (const e of events) if (e.t === 'issue') inventory.entries.set(e.record.serial, e);
  }

  async get(ca: string, serial: string): Promise<{ record: CertificateRecord; certPem: string } | undefined> {
    if (!(await this.doc(ca))) return undefined;
    const entry = (await this.inventory(ca)).entries.get(serial);
    if (!entry) return undefined;
    return { record: entry.record, certPem: await this.client.getPayload(entry.cert, `the certificate ${serial}`) };
  }

  async getKey(ca: string, serial: string): Promise<string | undefined> {
    if (!(await this.doc(ca))) return undefined;
    const entry = (await this.inventory(ca)).entries.get(serial);
    if (!entry?.key) return undefined;
    return this.client.getPayload(entry.key, `the key of certificate ${serial}`);
  }

  async list(ca: string, filter?: ListFilter): Promise<CertificateRecord[]> {
    if (!(await this.doc(ca))) return [];
    return applyListFilter([...(await this.inventory(ca)).entries.values()].map((e) => e.record), filter);
  }

  async hasSerial(ca: string, serial: string): Promise<boolean> {
    const loaded = this.inventories.get(ca);
    if (loaded) return loaded.entries.has(serial);
    return (await this.client.listSecrets({ name: this.name(ca, `${serial}/cert`) })).length > 0;
  }

  async markRevoked(ca: string, serials: string[], reason: RevocationReason, at: Date): Promise<CertificateRecord[]> {
    await this.requireDoc(ca);
    const inventory = await this.inventory(ca);
    const out = revokedRecords(ca, (s) => inventory.entries.get(s)?.record, serials, reason, at);
    const created: Created = [];
    await this.rollbackOnFailure(created, `revoking ${serials.length} certificate${serials.length === 1 ? '' : 's'}`, () =>
      this.appendEvents(ca, serials.map((serial) => ({ t: 'revoke', serial, reason, at: at.toISOString() })), created),
    );
    for (const record of out) inventory.entries.get(record.serial)!.record = record;
    return out;
  }

  /**
   * The next CRL number, recorded as a log event. Barbican has no compare-and-set, so two
   * processes issuing a CRL in the same instant could draw the same number; `crl` is an
   * operator action, and the next CRL moves past both.
   */
  async nextCrlNumber(ca: string): Promise<bigint> {
    return this.advanceCrlNumber(ca, (current) => current + 1n);
  }

  async raiseCrlNumber(ca: string, atLeast: bigint): Promise<bigint> {
    return this.advanceCrlNumber(ca, (current) => (current >= atLeast ? current : atLeast));
  }

  /** Records `next(current)` as a CRL-number event; appends nothing when it is unchanged. */
  private async advanceCrlNumber(ca: string, next: (current: bigint) => bigint): Promise<bigint> {
    await this.requireDoc(ca);
    const inventory = await this.inventory(ca);
    const n = next(inventory.crlMax);
    if (n === inventory.crlMax) return n;
    const created: Created = [];
    await this.rollbackOnFailure(created, 'recording the CRL number', () => this.appendEvents(ca, [{ t: 'crl', n: String(n) }], created));
    inventory.crlMax = n;
    return n;
  }

  /**
   * Deletes every object named under `<prefix>/<ca>/`, found by listing (so objects an earlier
   * failed write left behind go too): the containers first (deleting a container leaves its
   * secrets), then the inventory segments oldest first, the certificates' and keys' secrets, the
   * CA's certificate, key, chain and bundle, and its `ca-record` last: a run that fails midway
   * leaves the CA listed, and calling it again finishes the job.
   * @throws NotFoundError when Barbican holds nothing of that CA.
   */
  async deleteCa(ca: string): Promise<void> {
    const under = this.name(ca, '');
    const [secrets, containers] = await Promise.all([this.client.listSecrets(), this.client.listContainers()]);
    const ours = <T extends { name: string }>(items: T[]) => items.filter((o) => o.name.startsWith(under));
    const mySecrets = ours(secrets);
    const myContainers = ours(containers);
    if (mySecrets.length === 0 && myContainers.length === 0) throw new NotFoundError(`no CA "${ca}" in Barbican (nothing named ${under}…)`);
    const caParts = new Set(['ca', 'ca-key', 'ca-chain', 'ca-bundle'].map((p) => this.name(ca, p)));
    const record = this.name(ca, 'ca-record');
    const segment = this.name(ca, 'inventory');
    // Oldest first, as listed: an issue event goes before the revocations that follow it.
    const phases: { what: string; ids: string[]; container?: boolean; limit: number }[] = [
      { what: 'containers', ids: myContainers.map((c) => c.id), container: true, limit: 8 },
      { what: 'inventory segments', ids: mySecrets.filter((s) => s.name === segment).map((s) => s.id), limit: 1 },
      { what: 'certificate and key secrets', ids: mySecrets.filter((s) => s.name !== segment && s.name !== record && !caParts.has(s.name)).map((s) => s.id), limit: 8 },
      { what: 'CA secrets', ids: mySecrets.filter((s) => caParts.has(s.name)).map((s) => s.id), limit: 4 },
      { what: 'the CA record', ids: mySecrets.filter((s) => s.name === record).map((s) => s.id), limit: 1 },
    ];
    const total = mySecrets.length + myContainers.length;
    let done = 0;
    this.docs.delete(ca);
    this.inventories.delete(ca);
    for (const phase of phases) {
      try {
        await mapLimit(phase.ids, phase.limit, async (id) => {
          await (phase.container ? this.client.deleteContainer(id) : this.client.deleteSecret(id));
          done++;
        });
      } catch (err) {
        const message = `deleting CA "${ca}" from Barbican stopped at its ${phase.what} after ${done} of ${total} objects: ${(err as Error).message}. Its record is deleted last, so the CA is still there: run the deletion again to finish it`;
        throw withContext(err, message);
      }
    }
  }

  private async doc(ca: string): Promise<CaDoc | undefined> {
    const cached = this.docs.get(ca);
    if (cached) return cached;
    const [first] = await this.client.listSecrets({ name: this.name(ca, 'ca-record'), secretType: 'opaque' });
    if (!first) return undefined;
    const doc = parseJson<CaDoc>(await this.client.getPayload(first.id, `the record of CA "${ca}"`), `CA record ${first.id}`);
    this.docs.set(ca, doc);
    return doc;
  }

  private async requireDoc(ca: string): Promise<CaDoc> {
    const doc = await this.doc(ca);
    if (!doc) throw new NotFoundError(`no CA "${ca}" in Barbican (looked for ${this.name(ca, 'ca-record')}); create it with \`certctl init\` or pick another --ca`);
    return doc;
  }

  /**
   * Reads the CA's log: one list call per 100 segments, one payload read per segment. Barbican
   * pages by offset with only the creation second to sort on, so a listing is checked against
   * the total it reports, and a segment deleted by a concurrent compaction (404) means: list again.
   */
  private async inventory(ca: string): Promise<Inventory> {
    const cached = this.inventories.get(ca);
    if (cached) return cached;
    let loaded: LoadedSegment[] | undefined;
    let consistent = false;
    for (let attempt = 0; attempt < 3 && !consistent; attempt++) {
      const { items, total } = await this.client.listSecretsWithTotal({ name: this.name(ca, 'inventory'), secretType: 'opaque' });
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
    const inventory: Inventory = { entries: new Map(), crlMax: 0n };
    const revocations: Extract<InventoryEvent, { t: 'revoke' }>[] = [];
    // Events commute: issues first, then revocations (the earliest wins), so segment order and
    // duplicates left by an interrupted compaction do not matter.
    for (const segment of loaded!) {
      for (const event of segment.events) {
        if (event.t === 'issue') inventory.entries.set(event.record.serial, event);
        else if (event.t === 'revoke') revocations.push(event);
        else if (event.t === 'crl' && BigInt(event.n) > inventory.crlMax) inventory.crlMax = BigInt(event.n);
      }
    }
    revocations.sort((a, b) => a.at.localeCompare(b.at));
    for (const r of revocations) {
      const entry = inventory.entries.get(r.serial);
      if (entry && entry.record.status !== 'revoked') entry.record = { ...entry.record, status: 'revoked', revokedAt: r.at, revocationReason: r.reason };
    }
    this.inventories.set(ca, inventory);
    if (consistent) await this.compact(ca, loaded!);
    return inventory;
  }

  /**
   * Merges many small segments (one per `issue` command) into few full ones, so reading the
   * inventory stays at about one call per 25 certificates. Only segments older than
   * {@link COMPACT_GRACE_MS} are merged: a younger one may still be rolled back by the process
   * that wrote it. The merged events are those segments' own events, deduplicated (revocations
   * of certificates in younger segments survive). Merged segments are written before the old
   * ones are deleted; a reader in between sees duplicates, which are harmless.
   */
  private async compact(ca: string, loaded: LoadedSegment[]): Promise<void> {
    const old = loaded.filter((s) => s.created > 0 && s.created < Date.now() - COMPACT_GRACE_MS);
    if (old.length < COMPACT_AT) return;
    const issues = new Map<string, InventoryEvent>();
    const revokes = new Map<string, Extract<InventoryEvent, { t: 'revoke' }>>();
    let crl = 0n;
    for (const e of old.flatMap((s) => s.events)) {
      if (e.t === 'issue') issues.set(e.record.serial, e);
      else if (e.t === 'revoke') {
        const seen = revokes.get(e.serial);
        if (!seen || e.at < seen.at) revokes.set(e.serial, e);
      } else if (BigInt(e.n) > crl) crl = BigInt(e.n);
    }
    const events = [...issues.values(), ...revokes.values(), ...(crl > 0n ? [{ t: 'crl', n: String(crl) } as InventoryEvent] : [])];
    const chunks = chunkEvents(events);
    if (chunks.length * 2 > old.length) return;
    const created: Created = [];
    try {
      for (const chunk of chunks) {
        created.push({ kind: 'secret', id: await this.client.createSecret(this.name(ca, 'inventory'), 'opaque', chunk.text) });
      }
    } catch {
      // Compaction is an optimisation: on failure undo it and keep the log as it was.
      await this.deleteCreated(created, 0);
      return;
    }
    await mapLimit(old.map((s) => s.id), 4, (id) => this.client.deleteSecret(id)).catch(() => undefined);
  }

  private async appendEvents(ca: string, events: InventoryEvent[], created: Created): Promise<void> {
    for (const chunk of chunkEvents(events)) {
      const nonce = chunk.nonce;
      try {
        const id = await this.client.createSecret(this.name(ca, 'inventory'), 'opaque', chunk.text);
        created.push({ kind: 'secret', id });
      } catch (err) {
        if (mayHaveReachedServer(err)) created.push({ kind: 'segment', ca, uncertainNonce: nonce });
        throw err;
      }
    }
  }

  /**
   * Creates one object and records it for rollback. When the answer is lost and `uniqueName`
   * holds, the name is recorded instead, so the rollback can still find and delete it.
   */
  private async create(created: Created, kind: 'secret' | 'container', name: string, make: () => Promise<string>, uniqueName = true, payload?: string): Promise<string> {
    try {
      const id = await make();
      created.push({ kind, id });
      return id;
    } catch (err) {
      if (mayHaveReachedServer(err)) {
        if (uniqueName) created.push({ kind, uncertainName: name, payload });
        // Not identifiable (a shared container name): at least named in the error.
        else created.push({ kind: 'report', what: `${kind} named "${name}", if Barbican created it` });
      }
      throw err;
    }
  }

  /** Ids of the objects an uncertain entry stands for (none when the request never took effect). */
  private async resolve(c: CreatedObject): Promise<{ kind: 'secret' | 'container'; id: string }[]> {
    if ('id' in c) return [c];
    if (c.kind === 'report') throw new Error('cannot be identified');
    if ('uncertainName' in c) {
      const found = c.kind === 'secret' ? await this.client.listSecrets({ name: c.uncertainName }) : await this.client.listContainers({ name: c.uncertainName });
      const ours: { kind: 'secret' | 'container'; id: string }[] = [];
      for (const f of found) {
        if (c.payload === undefined || (await this.client.getPayload(f.id, `secret ${f.id}`)).trim() === c.payload.trim()) ours.push({ kind: c.kind as 'secret' | 'container', id: f.id });
      }
      return ours;
    }
    // The newest segments are the candidates; the nonce tells ours from a concurrent writer's.
    const segments = (await this.client.listSecrets({ name: this.name(c.ca, 'inventory'), secretType: 'opaque' })).slice(-16);
    for (const s of segments) {
      if ((await this.client.getPayload(s.id, `inventory segment ${s.id}`)).includes(`"w":"${c.uncertainNonce}"`)) return [{ kind: 'secret', id: s.id }];
    }
    return [];
  }

  /**
   * Runs a multi-step write; when it fails, deletes everything it created (retrying for a while
   * if Barbican is briefly unreachable) and rethrows. Objects that still cannot be deleted are
   * named in the error, so nothing is orphaned silently.
   */
  private async rollbackOnFailure(created: Created, what: string, write: () => Promise<void>): Promise<void> {
    try {
      await write();
    } catch (err) {
      const left = await this.deleteCreated(created, this.cleanupWindowMs);
      if (left.length === 0) throw err;
      const list = left
        .map((c) => (c.kind === 'report' ? c.what : 'id' in c ? `${c.kind} ${c.id}` : 'uncertainName' in c ? `${c.kind} named "${c.uncertainName}"` : `an inventory segment holding "w":"${c.uncertainNonce}"`))
        .join(', ');
      const message = `${(err as Error).message}; while undoing ${what}, ${left.length} object${left.length === 1 ? '' : 's'} could not be deleted — delete them with \`openstack secret delete\` / \`openstack secret container delete\`: ${list}`;
      throw withContext(err, message);
    }
  }

  /** Deletes containers first, then secrets; returns what could not be deleted within `windowMs`. */
  private async deleteCreated(created: Created, windowMs: number): Promise<Created> {
    const ordered = [...created].sort((a, b) => (a.kind === b.kind ? 0 : a.kind === 'container' ? -1 : 1));
    if (ordered.every((c) => c.kind === 'report')) return ordered;
    return retryEachWithin(ordered, windowMs, async (c) => {
      for (const o of await this.resolve(c)) {
        if (o.kind === 'container') await this.client.deleteContainer(o.id);
        else await this.client.deleteSecret(o.id);
      }
    });
  }

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

/** True when a failed request may still have taken effect on the server (its answer was lost, or a 5xx). */
function mayHaveReachedServer(err: unknown): boolean {
  if (!(err instanceof BackendUnavailableError)) return false;
  const cause = (err as { cause?: unknown }).cause;
  return !(cause instanceof TransportError) || cause.sent;
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
    throw new InternalError(`inventory segment ${id} in Barbican is not a certctl inventory segment; it was written or changed outside certctl — move it away (\`openstack secret delete\`) after checking what it is`);
  }
  return events;
}

function parseJson<T>(text: string, what: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new InternalError(`${what} in Barbican is not valid JSON; it was changed outside certctl`, { cause: err });
  }
}
