import { randomBytes } from 'node:crypto';
import type { CertStore } from '../../core/cert-store';
import { mapLimit } from '../../core/concurrency';
import { ConflictError, NotFoundError, withContext } from '../../core/errors';
import { applyListFilter, checkDistinctSerials, revokedRecords } from '../../core/inventory';
import type { CaRecord, CertificateRecord, IssuedCertificate, ListFilter, RevocationReason } from '../../core/types';
import { inject, injectable, optional } from 'inversify';
import { BarbicanClient } from './client';
import { BarbicanOptions } from './options';
import { RollbackWindowMs } from './tokens';
import { InventoryLog, type Inventory, type InventoryEvent } from './inventory-log';
import { caSecrets, deletionPhases, ObjectNames, parseJson, type CaDoc } from './object-map';
import { WriteRollback, type WriteJournal } from './write-rollback';
import { plural } from '../../core/text';

/** How many serials putIssued looks up in Barbican at once before writing. */
const SERIAL_LOOKUPS_IN_FLIGHT = 8;

/**
 * CertStore over OpenStack Barbican (DESIGN.md "Two interfaces, three backends"): CA material,
 * certificates and keys are Barbican secrets and `certificate` containers named as object-map.ts
 * says; the inventory is an append-only log of segments (inventory-log.ts). A write that fails
 * midway deletes what it created (write-rollback.ts), and names what it could not delete.
 */
@injectable()
export class BarbicanCertStore implements CertStore {
  readonly kind = 'barbican';
  private readonly names: ObjectNames;
  private readonly rollback: WriteRollback;
  private readonly log: InventoryLog;
  private readonly docs = new Map<string, CaDoc>();
  private readonly inventories = new Map<string, Inventory>();
  /** When each inventory was read from Barbican (ms). */
  private readonly readAt = new Map<string, number>();

  constructor(
    @inject(BarbicanClient) private readonly client: BarbicanClient,
    @inject(BarbicanOptions) options: Pick<BarbicanOptions, 'namePrefix'>,
    /** How long a rollback keeps trying to delete what it created while Barbican is unreachable. */
    @inject(RollbackWindowMs) @optional() cleanupWindowMs: number = 30_000,
  ) {
    this.names = new ObjectNames(options.namePrefix);
    this.rollback = new WriteRollback(client, cleanupWindowMs);
    this.log = new InventoryLog(client, this.names, this.rollback);
  }

  async getCa(ca: string): Promise<CaRecord | undefined> {
    return (await this.doc(ca))?.record;
  }

  async listCas(): Promise<string[]> {
    const names = (await this.client.listSecrets({ secretType: 'opaque' })).map((s) => this.names.caOfRecord(s.name)).filter((n): n is string => !!n);
    return [...new Set(names)].sort();
  }

  /**
   * Writes the CA's secrets, its container and, last, its record (the commit point).
   * @throws ConflictError when the CA exists or another `init` of it won a race; the client's errors.
   */
  async createCa(record: CaRecord, keyPem?: string): Promise<void> {
    const ca = record.name;
    if (await this.doc(ca)) throw new ConflictError(`CA "${ca}" already exists in Barbican (${this.names.caRecord(ca)}); choose another --ca name`);
    await this.rollback.run(`creating CA "${ca}"`, async (journal) => {
      // A racing init may create objects of the same names: an uncertain write is matched by its
      // payload (the record carries a nonce), never by name alone.
      const secret = (name: string, type: 'certificate' | 'private' | 'opaque', payload: string) =>
        journal.create('secret', name, () => this.client.createSecret(name, type, payload), { by: 'name-and-payload', payload });
      const ids: Partial<CaDoc['ids']> = {};
      for (const s of caSecrets(record, keyPem)) ids[s.slot] = await secret(this.names.caSecret(ca, s.slot), s.type, s.payload);
      const containerName = this.names.caContainer(ca);
      // Containers carry no payload to tell a racing init's from ours: if lost, it can only be named.
      ids.container = await journal.create(
        'container',
        containerName,
        () => this.client.createCertificateContainer(containerName, { certificate: ids.cert, private_key: ids.key, intermediates: ids.chain }),
        { by: 'nothing' },
      );
      const doc: CaDoc = { v: 1, record, ids: ids as CaDoc['ids'], nonce: randomBytes(8).toString('hex') };
      await secret(this.names.caRecord(ca), 'opaque', JSON.stringify(doc));
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

  /**
   * Writes each certificate's secrets and container, then one inventory segment per batch chunk
   * (the commit point).
   * @throws ConflictError for a serial already in the CA or twice in the batch (nothing written); the client's errors.
   */
  async putIssued(ca: string, items: IssuedCertificate[]): Promise<void> {
    const doc = await this.requireDoc(ca);
    checkDistinctSerials(items);
    await this.checkSerialsUnused(ca, items);
    const events: InventoryEvent[] = [];
    await this.rollback.run(`storing ${plural(items.length, 'certificate')}`, async (journal) => {
      for (const item of items) events.push(await this.writeLeaf(ca, doc, item, journal));
      await this.log.append(ca, events, journal);
    });
    const inventory = this.inventories.get(ca);
    if (inventory) for (const e of events) if (e.t === 'issue') inventory.entries.set(e.record.serial, e);
  }

  /**
   * 128-bit random serials never collide in practice, but "no serial used twice" is checked, not
   * assumed; the lookups run a few at a time (one list call each when the inventory is not loaded).
   */
  private async checkSerialsUnused(ca: string, items: IssuedCertificate[]): Promise<void> {
    const used = await mapLimit(items, SERIAL_LOOKUPS_IN_FLIGHT, ({ record }) => this.hasSerial(ca, record.serial));
    const first = items.find((_, i) => used[i]);
    if (first) throw new ConflictError(`serial ${first.record.serial} is already in CA "${ca}"; nothing was stored`);
  }

  /** One certificate's secrets and container; returns its issue event. */
  private async writeLeaf(ca: string, doc: CaDoc, item: IssuedCertificate, journal: WriteJournal): Promise<Extract<InventoryEvent, { t: 'issue' }>> {
    const serial = item.record.serial;
    // Names carry the serial, so an object whose answer was lost can be found and deleted.
    const certName = this.names.leafSecret(ca, serial, 'cert');
    const cert = await journal.create('secret', certName, () => this.client.createSecret(certName, 'certificate', item.certPem), { by: 'name' });
    let key: string | undefined;
    if (item.keyPem !== undefined) {
      const keyName = this.names.leafSecret(ca, serial, 'key');
      const keyPem = item.keyPem;
      key = await journal.create('secret', keyName, () => this.client.createSecret(keyName, 'private', keyPem), { by: 'name' });
    }
    // Barbican accepts only refs under the host href of this very request; the bundle's is
    // derived from the certificate's fresh one (same prefix), not from one stored at init.
    this.client.rememberRef(doc.ids.bundle, this.client.refOf(cert)?.replace(/[^/]+$/, doc.ids.bundle));
    const label = this.names.leafContainer(ca, item.record);
    const container = await journal.create(
      'container',
      label,
      () => this.client.createCertificateContainer(label, { certificate: cert, private_key: key, intermediates: doc.ids.bundle }),
      { by: 'name' },
    );
    return { t: 'issue', record: item.record, cert, key, container };
  }

  async get(ca: string, serial: string): Promise<{ record: CertificateRecord; certPem: string } | undefined> {
    if (!(await this.doc(ca))) return undefined;
    const entry = (await this.inventoryKnowing(ca, [serial])).entries.get(serial);
    if (!entry) return undefined;
    return { record: entry.record, certPem: await this.client.getPayload(entry.cert, `the certificate ${serial}`) };
  }

  async getKey(ca: string, serial: string): Promise<string | undefined> {
    if (!(await this.doc(ca))) return undefined;
    const entry = (await this.inventoryKnowing(ca, [serial])).entries.get(serial);
    if (!entry?.key) return undefined;
    return this.client.getPayload(entry.key, `the key of certificate ${serial}`);
  }

  async list(ca: string, filter?: ListFilter): Promise<CertificateRecord[]> {
    if (!(await this.doc(ca))) return [];
    return applyListFilter(
      [...(await this.inventory(ca)).entries.values()].map((e) => e.record),
      filter,
    );
  }

  async hasSerial(ca: string, serial: string): Promise<boolean> {
    const loaded = this.inventories.get(ca);
    if (loaded) return loaded.entries.has(serial);
    return (await this.client.listSecrets({ name: this.names.leafSecret(ca, serial, 'cert') })).length > 0;
  }

  async markRevoked(ca: string, serials: string[], reason: RevocationReason, at: Date): Promise<CertificateRecord[]> {
    await this.requireDoc(ca);
    const inventory = await this.inventoryKnowing(ca, serials, 0);
    const out = revokedRecords(ca, (s) => inventory.entries.get(s)?.record, serials, reason, at);
    const events: InventoryEvent[] = serials.map((serial) => ({ t: 'revoke', serial, reason, at: at.toISOString() }));
    await this.rollback.run(`revoking ${plural(serials.length, 'certificate')}`, (journal) => this.log.append(ca, events, journal));
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
    await this.rollback.run('recording the CRL number', (journal) => this.log.append(ca, [{ t: 'crl', n: String(n) }], journal));
    inventory.crlMax = n;
    return n;
  }

  /**
   * Deletes every object named under `<prefix>/<ca>/`, found by listing (so objects an earlier
   * failed write left behind go too), in the order of {@link deletionPhases}: its `ca-record`
   * goes last, so a run that fails midway leaves the CA listed, and calling it again finishes the job.
   * @throws NotFoundError when Barbican holds nothing of that CA; the client's errors, saying how far it got.
   */
  async deleteCa(ca: string): Promise<void> {
    const under = this.names.under(ca);
    const [secrets, containers] = await Promise.all([this.client.listSecrets(), this.client.listContainers()]);
    const ours = <T extends { name: string }>(items: T[]) => items.filter((o) => o.name.startsWith(under));
    const mySecrets = ours(secrets);
    const myContainers = ours(containers);
    if (mySecrets.length === 0 && myContainers.length === 0) throw new NotFoundError(`no CA "${ca}" in Barbican (nothing named ${under}…)`);
    const total = mySecrets.length + myContainers.length;
    let done = 0;
    this.docs.delete(ca);
    this.inventories.delete(ca);
    for (const phase of deletionPhases(this.names, ca, mySecrets, myContainers)) {
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

  /** Forgets the CA documents and inventories read so far (CachingStore: a long-running server calls it now and then). */
  dropCaches(): void {
    this.docs.clear();
    this.inventories.clear();
  }

  private async doc(ca: string): Promise<CaDoc | undefined> {
    const cached = this.docs.get(ca);
    if (cached) return cached;
    const [first] = await this.client.listSecrets({ name: this.names.caRecord(ca), secretType: 'opaque' });
    if (!first) return undefined;
    const doc = parseJson<CaDoc>(await this.client.getPayload(first.id, `the record of CA "${ca}"`), `CA record ${first.id}`);
    this.docs.set(ca, doc);
    return doc;
  }

  private async requireDoc(ca: string): Promise<CaDoc> {
    const doc = await this.doc(ca);
    if (!doc)
      throw new NotFoundError(`no CA "${ca}" in Barbican (looked for ${this.names.caRecord(ca)}); create it with \`certctl init\` or pick another --ca`);
    return doc;
  }

  /** The CA's inventory, read once per store object and then kept up to date by its writes. */
  private async inventory(ca: string): Promise<Inventory> {
    const cached = this.inventories.get(ca);
    if (cached) return cached;
    const inventory = await this.log.read(ca);
    this.inventories.set(ca, inventory);
    this.readAt.set(ca, Date.now());
    return inventory;
  }

  /**
   * The inventory, read again when it lacks one of `serials` and was read over `minAgeMs` ago: a
   * long-lived store object (certctl serve) then finds a certificate another process issued
   * since, while lookups of unknown serials (OCSP, client certificates: anyone can send those)
   * cannot make it re-read the log more than once a second. A revocation always looks again.
   */
  private async inventoryKnowing(ca: string, serials: string[], minAgeMs = 1000): Promise<Inventory> {
    const inventory = await this.inventory(ca);
    if (serials.every((s) => inventory.entries.has(s)) || Date.now() - (this.readAt.get(ca) ?? 0) < minAgeMs) return inventory;
    this.inventories.delete(ca);
    return this.inventory(ca);
  }
}
