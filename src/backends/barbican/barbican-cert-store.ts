import { randomBytes } from 'node:crypto';
import type { CertStore } from '../../core/cert-store';
import { BackendUnavailableError, CertctlError, ConflictError, InternalError, NotFoundError } from '../../core/errors';
import { TransportError } from '../http/transport';
import { applyListFilter, revokedRecords } from '../../core/inventory';
import type { CaRecord, CertificateRecord, IssuedCertificate, ListFilter, RevocationReason } from '../../core/types';
import type { BarbicanClient } from './client';

/** The JSON kept in a CA's `ca-record` secret: the record and the ids of the CA's other objects. */
interface CaDoc {
  v: 1;
  record: CaRecord;
  ids: { cert: string; key?: string; chain?: string; bundle: string; container: string };
  /** Barbican's own href of the bundle, which leaf containers name as their intermediates. */
  bundleRef?: string;
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
  segments: string[];
}

/**
 * What a multi-step write created, newest last. An object whose creation request may have
 * reached Barbican without its answer reaching certctl (connection lost, 5xx) is kept by what
 * identifies it instead of an id: its unique name, or the nonce inside an inventory segment.
 */
type CreatedObject =
  | { kind: 'secret' | 'container'; id: string }
  | { kind: 'secret' | 'container'; uncertainName: string }
  | { kind: 'segment'; ca: string; uncertainNonce: string };
type Created = CreatedObject[];

/**
 * Inventory segments stay well under Barbican's 20,000-character payload limit: a request body
 * over ~25,000 bytes is refused as malformed JSON, and JSON-in-JSON escapes every quote.
 */
const SEGMENT_CHARS = 12_000;
/** Merge the log when it has this many segments and could fit in half as many. */
const COMPACT_AT = 48;

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
      const secret = (part: string, type: 'certificate' | 'private' | 'opaque', payload: string) =>
        this.create(created, 'secret', this.name(ca, part), () => this.client.createSecret(this.name(ca, part), type, payload), false);
      const cert = await secret('ca', 'certificate', record.certPem);
      const key = keyPem === undefined ? undefined : await secret('ca-key', 'private', keyPem);
      const chain = record.chainPem.length ? await secret('ca-chain', 'certificate', record.chainPem.join('')) : undefined;
      const bundle = await secret('ca-bundle', 'certificate', [record.certPem, ...record.chainPem].join(''));
      const container = await this.create(created, 'container', this.name(ca, 'ca'), () =>
        this.client.createCertificateContainer(this.name(ca, 'ca'), { certificate: cert, private_key: key, intermediates: chain }), false);
      const doc: CaDoc = { v: 1, record, ids: { cert, key, chain, bundle, container }, bundleRef: this.client.refOf(bundle), nonce: randomBytes(8).toString('hex') };
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
    this.client.rememberRef(doc.ids.bundle, doc.bundleRef);
    const seen = new Set<string>();
    for (const { record } of items) {
      if (seen.has(record.serial)) throw new ConflictError(`serial ${record.serial} appears twice in one batch; nothing was stored`);
      seen.add(record.serial);
    }
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
        const label = this.name(ca, `${serial}${item.record.commonName ? ` ${item.record.commonName}` : ''}`).slice(0, 255);
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
    await this.requireDoc(ca);
    const inventory = await this.inventory(ca);
    const n = inventory.crlMax + 1n;
    const created: Created = [];
    await this.rollbackOnFailure(created, 'recording the CRL number', () => this.appendEvents(ca, [{ t: 'crl', n: String(n) }], created));
    inventory.crlMax = n;
    return n;
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

  /** Reads the CA's log: one list call per 100 segments, one payload read per segment. */
  private async inventory(ca: string): Promise<Inventory> {
    const cached = this.inventories.get(ca);
    if (cached) return cached;
    const segments = await this.client.listSecrets({ name: this.name(ca, 'inventory'), secretType: 'opaque' });
    const payloads = await mapLimit(segments, 8, (s) => this.client.getPayload(s.id, `inventory segment ${s.id}`));
    const inventory: Inventory = { entries: new Map(), crlMax: 0n, segments: segments.map((s) => s.id) };
    const revocations: Extract<InventoryEvent, { t: 'revoke' }>[] = [];
    // Events commute: issues first, then revocations (the earliest wins), so segment order and
    // duplicates left by an interrupted compaction do not matter.
    for (const [i, text] of payloads.entries()) {
      for (const event of parseJson<{ events: InventoryEvent[] }>(text, `inventory segment ${segments[i].id}`).events) {
        if (event.t === 'issue') inventory.entries.set(event.record.serial, event);
        else if (event.t === 'revoke') revocations.push(event);
        else if (BigInt(event.n) > inventory.crlMax) inventory.crlMax = BigInt(event.n);
      }
    }
    revocations.sort((a, b) => a.at.localeCompare(b.at));
    for (const r of revocations) {
      const entry = inventory.entries.get(r.serial);
      if (entry && entry.record.status !== 'revoked') entry.record = { ...entry.record, status: 'revoked', revokedAt: r.at, revocationReason: r.reason };
    }
    this.inventories.set(ca, inventory);
    await this.compact(ca, inventory);
    return inventory;
  }

  /**
   * Merges a log of many small segments (one per `issue` command) into few full ones, so reading
   * the inventory stays at about one call per 25 certificates. The merged segments are written
   * before the old ones are deleted; a reader in between sees duplicates, which are harmless.
   */
  private async compact(ca: string, inventory: Inventory): Promise<void> {
    const events: InventoryEvent[] = [];
    for (const e of inventory.entries.values()) {
      const { status: _s, revokedAt: _a, revocationReason: _r, ...rest } = e.record;
      events.push({ ...e, record: { ...rest, status: 'valid' } });
      if (e.record.status === 'revoked') events.push({ t: 'revoke', serial: e.record.serial, reason: e.record.revocationReason!, at: e.record.revokedAt! });
    }
    if (inventory.crlMax > 0n) events.push({ t: 'crl', n: String(inventory.crlMax) });
    const chunks = chunkEvents(events);
    if (inventory.segments.length < COMPACT_AT || chunks.length * 2 > inventory.segments.length) return;
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
    const old = inventory.segments;
    inventory.segments = created.map((c) => ('id' in c ? c.id : ''));
    await mapLimit(old, 4, (id) => this.client.deleteSecret(id)).catch(() => undefined);
  }

  private async appendEvents(ca: string, events: InventoryEvent[], created: Created): Promise<void> {
    for (const chunk of chunkEvents(events)) {
      const nonce = chunk.nonce;
      try {
        const id = await this.client.createSecret(this.name(ca, 'inventory'), 'opaque', chunk.text);
        created.push({ kind: 'secret', id });
        this.inventories.get(ca)?.segments.push(id);
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
  private async create(created: Created, kind: 'secret' | 'container', name: string, make: () => Promise<string>, uniqueName = true): Promise<string> {
    try {
      const id = await make();
      created.push({ kind, id });
      return id;
    } catch (err) {
      if (uniqueName && mayHaveReachedServer(err)) created.push({ kind, uncertainName: name });
      throw err;
    }
  }

  /** Ids of the objects an uncertain entry stands for (none when the request never took effect). */
  private async resolve(c: CreatedObject): Promise<{ kind: 'secret' | 'container'; id: string }[]> {
    if ('id' in c) return [c];
    if ('uncertainName' in c) {
      const found = c.kind === 'secret' ? await this.client.listSecrets({ name: c.uncertainName }) : await this.client.listContainers({ name: c.uncertainName });
      return found.map((f) => ({ kind: c.kind as 'secret' | 'container', id: f.id }));
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
      const list = left.map((c) => ('id' in c ? `${c.kind} ${c.id}` : 'uncertainName' in c ? `${c.kind} named "${c.uncertainName}"` : `an inventory segment holding "w":"${c.uncertainNonce}"`)).join(', ');
      const message = `${(err as Error).message}; while undoing ${what}, ${left.length} object${left.length === 1 ? '' : 's'} could not be deleted — delete them with \`openstack secret delete\` / \`openstack secret container delete\`: ${list}`;
      if (err instanceof CertctlError) {
        const Kind = err.constructor as new (m: string, o?: { cause?: unknown }) => CertctlError;
        throw new Kind(message, { cause: err });
      }
      throw new InternalError(message, { cause: err });
    }
  }

  /** Deletes containers first, then secrets; returns what could not be deleted within `windowMs`. */
  private async deleteCreated(created: Created, windowMs: number): Promise<Created> {
    const deadline = Date.now() + windowMs;
    let left = [...created].sort((a, b) => (a.kind === b.kind ? 0 : a.kind === 'container' ? -1 : 1));
    for (let delay = 250; ; delay = Math.min(delay * 2, 4000)) {
      const failed: Created = [];
      for (const c of left) {
        try {
          for (const o of await this.resolve(c)) {
            if (o.kind === 'container') await this.client.deleteContainer(o.id);
            else await this.client.deleteSecret(o.id);
          }
        } catch {
          failed.push(c);
        }
      }
      left = failed;
      if (left.length === 0 || Date.now() + delay > deadline) return left;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
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

function parseJson<T>(text: string, what: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new InternalError(`${what} in Barbican is not valid JSON; it was changed outside certctl`, { cause: err });
  }
}

/** Runs `fn` over `items` with at most `limit` in flight, keeping order. */
async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
