import { X509Certificate, createHash, type KeyObject } from 'node:crypto';
import { readPrivateKey } from './keys';
import { canDeleteCa, canRaiseCrlNumber, type CertStore, type CrlNumberRaisingStore } from './cert-store';
import { ConflictError, InternalError, NotFoundError, NotSupportedError, withContext } from './errors';
import type { CaRecord, CertificateRecord, IssuedCertificate } from './types';

/** What `certctl migrate` asks of {@link migrateStores}. */
export interface MigrationOptions {
  /** CAs to move; default every CA of the source. */
  cas?: string[];
  /** Only count what would move; write nothing to either store. */
  dryRun?: boolean;
  /** Certificates per `putIssued` call (default 200): one all-or-nothing unit of progress. */
  batchSize?: number;
  /** Reads in flight against a store (default 8); network stores answer faster with several. */
  concurrency?: number;
  /**
   * A fresh instance of the target store for the read-back. Stores cache what they wrote
   * (Barbican's inventory, Vault's CA records); verifying through a new instance compares what
   * the backend really holds. Default: the target itself.
   */
  verifyTarget?: () => CertStore;
  /** Called as certificates are copied and verified. */
  onProgress?(progress: MigrationProgress): void;
  /**
   * Moves each CA key the source holds into a remote signer (Vault PKI) instead of the target
   * store: the key is decrypted in memory, handed to the importer, and the target store gets the
   * CA without its key.
   */
  caKeyImporter?: CaKeyImporter;
  /** The CA passphrase, for decrypting an encrypted CA key before {@link caKeyImporter} takes it. */
  passphrase?: () => string | undefined;
  /**
   * After every CA was copied and verified, delete each from the source (`--delete-source`).
   * Needs the source store's `deleteCa`; never acts with `dryRun`.
   */
  deleteSource?: boolean;
  /**
   * A fresh instance of the source, to check just before deleting that the source CA still holds
   * exactly what was verified (a caching store would answer from its cache). Default: the source.
   */
  freshSource?: () => CertStore;
}

/** A signer that can take over a CA key certctl held (VaultPkiSigner.adoptCa). */
export interface CaKeyImporter {
  /** For messages, e.g. `Vault PKI (pki/)`. */
  readonly name: string;
  /** Writes nothing; throws when the CA cannot be imported (e.g. another CA of that name is there). */
  checkAdoptable(record: CaRecord): Promise<void>;
  /** Imports certificate + unencrypted key PEM; idempotent. @returns notes for the operator. */
  adoptCa(record: CaRecord, keyPem: string): Promise<string[]>;
}

/** Progress of one phase of one CA. */
export interface MigrationProgress {
  ca: string;
  phase: 'copy' | 'verify';
  done: number;
  total: number;
}

/** What happened to one CA; with `dryRun`, what would happen. */
export interface CaMigration {
  ca: string;
  /** `create`: the target had no such CA; `reuse`: it had the same CA certificate (a resumed run). */
  caAction: 'create' | 'reuse';
  /** Whether the source holds the CA key (false when its signer keeps it, e.g. Vault PKI). */
  caKey: boolean;
  /** Certificates of the CA in the source. */
  certificates: number;
  revoked: number;
  /** Certificates written to the target (with `dryRun`: that would be written). */
  copied: number;
  /** Certificates the target already held (an earlier, interrupted run), not written again. */
  skipped: number;
  /** Certificates read back from the target and found identical by SHA-256 (0 with `dryRun`). */
  verified: number;
  /** The source's current CRL number; the target's next CRL gets a higher one. */
  crlNumber: string;
  /** With a key importer: whether the CA key goes into the signer (Vault PKI) rather than the target store. */
  caKeyImported?: boolean;
  /** With `deleteSource`: whether the CA was deleted from the source (false in a dry run: it would be). */
  sourceDeleted?: boolean;
}

/** The outcome of {@link migrateStores}. */
export interface MigrationResult {
  from: string;
  to: string;
  dryRun: boolean;
  /** Whether the source CAs are (with `dryRun`: would be) deleted after verification. */
  deleteSource: boolean;
  cas: CaMigration[];
  /** Things the operator should know (e.g. a CA whose key stays with its signer). */
  warnings: string[];
  /** What a key importer did (mount enabled, issuer imported, roles written). */
  notes?: string[];
}

/** SHA-256 digests of one certificate's three objects, compared between source and target. */
interface Digest {
  cert: string;
  key: string | null;
  record: string;
}

const DEFAULT_BATCH = 200;
const DEFAULT_CONCURRENCY = 8;
/** How many differing serials an error names before summarising the rest. */
const NAMED_SERIALS = 20;

/**
 * Copies CAs from one CertStore to another (issue #5): the CA record, its key where the source
 * holds one, every issued certificate with its leaf key and inventory record as it stands
 * (revocations included), and the CRL counter. Backend-neutral: it only uses the CertStore
 * interface, so every pair of stores works the same way.
 *
 * Resumable: the target's serials are listed once and only the missing ones are written, in
 * all-or-nothing batches, so an interrupted run re-run copies the rest and never duplicates.
 * Afterwards every object is read back from the target and compared by SHA-256 with the source.
 * The source is only read, unless `deleteSource` is given: then, once every CA has been verified
 * and found unchanged in the source since it was read, each is deleted from the source.
 * @throws NotFoundError for a CA missing from the source; ConflictError when the target holds a
 *   different CA of the same name or verification finds a difference (naming the serials);
 *   NotSupportedError when a store cannot carry the CRL number over, or `deleteSource` is asked of a
 *   store that cannot delete (before anything is read or written); the stores' own errors,
 *   with the batch that failed named, when a write is refused.
 */
export async function migrateStores(source: CertStore, target: CertStore, options: MigrationOptions = {}): Promise<MigrationResult> {
  if (!canRaiseCrlNumber(source) || !canRaiseCrlNumber(target)) {
    // Without it the target would number its CRLs from 1 again, and relying parties reject a CRL number going backwards.
    const which = !canRaiseCrlNumber(source) ? source : target;
    throw new NotSupportedError(`the ${which.kind} store cannot carry CRL numbers over, so certctl cannot migrate ${which === source ? 'from' : 'into'} it`);
  }
  if (options.deleteSource && !canDeleteCa(source)) {
    throw new NotSupportedError(`the ${source.kind} store cannot delete a CA, so --delete-source cannot remove the source; nothing was copied — migrate without it and remove the source with the store's own tools`);
  }
  const cas = options.cas ?? (await source.listCas());
  const deleteSource = Boolean(options.deleteSource);
  const result: MigrationResult = { from: source.kind, to: target.kind, dryRun: Boolean(options.dryRun), deleteSource, cas: [], warnings: [] };
  // Every CA is planned (read only) before any is written, so a conflict in the last CA stops the run before the first is touched.
  const [from, to] = [source, target];
  const migrators = cas.map((ca) => new CaMigrator(from, to, ca, options));
  for (const m of migrators) result.cas.push(await m.plan(result.warnings));
  if (options.dryRun) return result;
  if (options.caKeyImporter) result.notes = [];
  for (const m of migrators) await m.execute(result.notes);
  // Only once every CA is in the target and verified: a failure in the last CA leaves every source CA in place.
  if (deleteSource) for (const m of migrators) await m.deleteFromSource();
  return result;
}

/** What the read-only planning learned about one CA, kept for the writing. */
interface CaPlan {
  record: CaRecord;
  caKey: string | undefined;
  /** The decrypted CA key, in memory only, when it goes to the key importer. */
  importKey?: KeyObject;
  existing: boolean;
  records: CertificateRecord[];
  crlNumber: bigint;
  summary: CaMigration;
}

/** One CA's migration; keeps the source digests between the copy and the verification. */
class CaMigrator {
  private readonly batchSize: number;
  private readonly concurrency: number;
  /** Digests of what was read from the source while copying, so verification need not read it twice. */
  private readonly sourceDigests = new Map<string, Digest>();
  private planned?: CaPlan;
  /** Set once every object of the CA was read back from the target and found identical. */
  private verified = false;

  constructor(
    private readonly source: CrlNumberRaisingStore,
    private readonly target: CrlNumberRaisingStore,
    private readonly ca: string,
    private readonly options: MigrationOptions,
  ) {
    this.batchSize = Math.max(1, options.batchSize ?? DEFAULT_BATCH);
    this.concurrency = Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY);
  }

  /**
   * Reads both stores, writes neither: what the source holds, whether the target already has
   * this CA (the same one: reused; another one: a conflict) and which certificates it lacks.
   * @returns the summary a dry run reports, completed by {@link execute}.
   */
  async plan(warnings: string[]): Promise<CaMigration> {
    const { ca, source, target } = this;
    const record = await source.getCa(ca);
    if (!record) throw new NotFoundError(`no CA "${ca}" in the ${source.kind} store to migrate; \`certctl migrate\` without --ca moves every CA it has`);
    const caKey = await readCaKey(source, ca);
    if (caKey === undefined) {
      warnings.push(`CA "${ca}" has no key in the ${source.kind} store (its signer keeps it): the ${target.kind} store gets its certificate and records, and that signer must keep signing`);
    }
    const existing = await target.getCa(ca);
    if (existing && fingerprint(existing.certPem) !== fingerprint(record.certPem)) {
      throw new ConflictError(`the ${target.kind} store already has a different CA "${ca}" (another certificate); nothing of it was copied — remove it or migrate another --ca`);
    }
    let importKey: KeyObject | undefined;
    const importer = this.options.caKeyImporter;
    if (importer && caKey !== undefined) {
      if (existing && (await readCaKey(target, ca)) !== undefined) {
        // The store interface cannot delete a key, and the key must not stay beside Vault's copy.
        throw new ConflictError(
          `the ${target.kind} store already holds CA "${ca}" with its key (an earlier migration without --import-ca-key); certctl will not import the key into ${importer.name} and leave a copy in the store — remove the CA's entry from the ${target.kind} store first`,
        );
      }
      // Decrypted now, before anything is written: a wrong or missing passphrase stops the run here.
      importKey = readPrivateKey(caKey, record.keyEncrypted ? this.options.passphrase?.() : undefined, `the key of CA "${ca}" in the ${source.kind} store`);
      if (!new X509Certificate(record.certPem).checkPrivateKey(importKey)) {
        throw new ConflictError(`the key of CA "${ca}" in the ${source.kind} store does not match its certificate; nothing was imported`);
      }
      await importer.checkAdoptable(record);
    } else if (importer) {
      warnings.push(`CA "${ca}": the ${source.kind} store holds no key for it, so there is no key to import into ${importer.name}`);
    }
    const records = await source.list(ca);
    const present = existing ? await this.targetSerials() : new Set<string>();
    const copied = records.filter((r) => !present.has(r.serial)).length;
    const crlNumber = await source.raiseCrlNumber(ca, 0n);
    const summary: CaMigration = {
      ca,
      caAction: existing ? 'reuse' : 'create',
      caKey: caKey !== undefined,
      certificates: records.length,
      revoked: records.filter((r) => r.status === 'revoked').length,
      copied,
      skipped: records.length - copied,
      verified: 0,
      crlNumber: String(crlNumber),
    };
    if (importer) summary.caKeyImported = importKey !== undefined;
    if (this.options.deleteSource) {
      summary.sourceDeleted = false;
      if (caKey === undefined) {
        warnings.push(`CA "${ca}": --delete-source deletes only what the ${source.kind} store holds of it (certificate, records, certificates); the CA key stays with its signer${source.kind === 'vault-kv' ? " (Vault PKI's issuer is not touched)" : ''}`);
      }
    }
    this.planned = { record, caKey, importKey, existing: Boolean(existing), records, crlNumber, summary };
    return summary;
  }

  /** Creates the CA if needed, copies what the target lacks, carries the CRL number over, verifies. */
  async execute(notes: string[] = []): Promise<void> {
    if (!this.planned) throw new InternalError('CaMigrator.execute before plan');
    const { records, crlNumber, summary, existing, importKey } = this.planned;
    let { record, caKey } = this.planned;
    if (importKey && this.options.caKeyImporter) {
      // Into the signer first (idempotent): a run interrupted after this imports again harmlessly.
      // The PEM exists only in memory, on its way to the importer.
      notes.push(...(await this.options.caKeyImporter.adoptCa(record, importKey.export({ type: 'pkcs8', format: 'pem' }) as string)));
      // The target store keeps the CA without its key: the key lives only in the signer now.
      record = { ...record, keyEncrypted: false };
      caKey = undefined;
    }
    if (!existing) await this.target.createCa(record, caKey);
    // Listed once more after creating: cheap for a new CA, and it lets a store answer its own
    // duplicate checks from what it has just read instead of a lookup per serial.
    const present = await this.targetSerials();
    const missing = records.filter((r) => !present.has(r.serial));
    await this.copy(missing);
    await this.target.raiseCrlNumber(this.ca, crlNumber);
    summary.copied = missing.length;
    summary.skipped = records.length - missing.length;
    summary.verified = await this.verify(record, caKey, records, crlNumber);
    this.verified = true;
  }

  /**
   * Deletes the CA from the source, once {@link execute} verified every object of it in the target
   * and the source still holds exactly what was verified (nothing issued, revoked or CRL-numbered
   * since it was read, which the copy would have missed).
   * @throws ConflictError when the source changed: nothing is deleted; the store's error, with
   *   context, when the deletion fails.
   */
  async deleteFromSource(): Promise<void> {
    const { ca, source } = this;
    if (!this.planned || !this.verified || !canDeleteCa(source)) throw new InternalError(`deleting CA "${ca}" from the source before it was verified in the target`);
    const { records, crlNumber, summary } = this.planned;
    const now = (this.options.freshSource?.() ?? source) as CrlNumberRaisingStore;
    const current = await now.list(ca);
    const verified = new Set(records.map((r) => sha256(canonicalJson(r))));
    const changed = current.filter((r) => !verified.has(sha256(canonicalJson(r)))).length + Math.max(0, records.length - current.length);
    const crlNow = await now.raiseCrlNumber(ca, 0n);
    if (changed || crlNow !== crlNumber) {
      const what = changed ? `${changed} certificate record${changed === 1 ? '' : 's'} differ${changed === 1 ? 's' : ''} from what was copied` : `its CRL number moved from ${crlNumber} to ${crlNow}`;
      throw new ConflictError(
        `CA "${ca}" was copied and verified in the ${this.target.kind} store, but the ${source.kind} store changed meanwhile (${what}): nothing was deleted from the source. Stop what writes to it and run the same command again`,
      );
    }
    try {
      await source.deleteCa(ca);
    } catch (err) {
      throw withContext(err, `CA "${ca}" was copied and verified in the ${this.target.kind} store, but deleting it from the ${source.kind} store failed: ${(err as Error).message}`);
    }
    summary.sourceDeleted = true;
  }

  /** The target's serials of this CA, from one listing rather than a lookup per serial. */
  private async targetSerials(): Promise<Set<string>> {
    return new Set((await this.target.list(this.ca)).map((r) => r.serial));
  }

  /**
   * Writes the missing certificates in batches; each batch is all-or-nothing in the target. The
   * next batch is read from the source while the target writes this one, so a network target
   * is kept busy instead of waiting for certctl's reads.
   */
  private async copy(missing: CertificateRecord[]): Promise<void> {
    const { ca, target } = this;
    this.progress('copy', 0, missing.length);
    const read = async (start: number, afterWriteStarted: boolean): Promise<IssuedCertificate[]> => {
      // A macrotask first: the batch being written has sent its first requests before reading starts.
      if (afterWriteStarted) await new Promise((resolve) => setImmediate(resolve));
      return this.inParallel(missing.slice(start, start + this.batchSize), async ({ serial }) => {
        const item = await this.readSource(serial);
        this.sourceDigests.set(serial, digest(item));
        return item;
      });
    };
    let next: Promise<IssuedCertificate[]> | undefined = missing.length ? read(0, false) : undefined;
    for (let start = 0; start < missing.length; start += this.batchSize) {
      const batch = missing.slice(start, start + this.batchSize);
      const items = await next!;
      const write = target.putIssued(ca, items);
      next = start + this.batchSize < missing.length ? read(start + this.batchSize, true) : undefined;
      // Awaited on the next round; a failed write ends the loop first, and must not leave an unhandled rejection.
      next?.catch(() => undefined);
      try {
        await write;
      } catch (err) {
        const where = `copying certificates ${start + 1}–${start + batch.length} of ${missing.length} of CA "${ca}" (serials ${batch[0].serial} … ${batch[batch.length - 1].serial}) into the ${target.kind} store failed`;
        throw withContext(err, `${where}: ${(err as Error).message}. The source is untouched and the ${start} certificates before this batch are in the target; fix the cause and run the same command again to copy the rest`);
      }
      this.progress('copy', start + batch.length, missing.length);
    }
  }

  /**
   * Reads every object back from the target (through a fresh instance when given) and compares
   * SHA-256 digests with the source: CA record and key, then each certificate, key and record.
   * @returns how many certificates were verified.
   * @throws ConflictError naming what differs.
   */
  private async verify(record: CaRecord, caKey: string | undefined, records: CertificateRecord[], crlNumber: bigint): Promise<number> {
    const { ca, source } = this;
    const target = (this.options.verifyTarget?.() ?? this.target) as CrlNumberRaisingStore;
    const problems: string[] = [];
    const targetCa = await target.getCa(ca);
    if (!targetCa) problems.push('the CA record is missing');
    else if (sha256(canonicalJson(targetCa)) !== sha256(canonicalJson(record))) problems.push('the CA record (certificate, chain or metadata) differs');
    if (caKey !== undefined && sha256((await readCaKey(target, ca)) ?? '') !== sha256(caKey)) problems.push('the CA key differs or is missing');
    const targetCrl = await target.raiseCrlNumber(ca, 0n);
    if (targetCrl < crlNumber) problems.push(`the CRL number is ${targetCrl}, behind the source's ${crlNumber}`);

    const differing: string[] = [];
    this.progress('verify', 0, records.length);
    for (let start = 0; start < records.length; start += this.batchSize) {
      const batch = records.slice(start, start + this.batchSize);
      const found = await this.inParallel(batch, async ({ serial }) => {
        // Copied by an earlier run: the source is read now, so a target holding something else under that serial is caught.
        const expected = this.sourceDigests.get(serial) ?? digest(await this.readSource(serial));
        const actual = await readIssued(target, ca, serial);
        if (!actual) return `${serial} (missing)`;
        const got = digest(actual);
        const what = (['cert', 'key', 'record'] as const).filter((k) => got[k] !== expected[k]);
        return what.length ? `${serial} (${what.map((k) => (k === 'cert' ? 'certificate' : k)).join(', ')})` : undefined;
      });
      differing.push(...found.filter((d): d is string => d !== undefined));
      this.progress('verify', start + batch.length, records.length);
    }
    if (differing.length) {
      const named = differing.slice(0, NAMED_SERIALS).join(', ');
      problems.push(`${differing.length} certificate${differing.length === 1 ? '' : 's'} differ${differing.length === 1 ? 's' : ''}: ${named}${differing.length > NAMED_SERIALS ? `, and ${differing.length - NAMED_SERIALS} more` : ''}`);
    }
    if (problems.length) {
      throw new ConflictError(
        `verification of CA "${ca}" in the ${target.kind} store failed (read back and compared by SHA-256 with the ${source.kind} store): ${problems.join('; ')}. The source is untouched; do not switch to the target until this is resolved`,
      );
    }
    return records.length;
  }

  /** One certificate of the source; it was listed, so its absence means someone is writing to the source. */
  private async readSource(serial: string): Promise<IssuedCertificate> {
    const item = await readIssued(this.source, this.ca, serial);
    if (!item) {
      throw new InternalError(`certificate ${serial} of CA "${this.ca}" vanished from the ${this.source.kind} store during the migration; run it again when nothing else writes to the source`);
    }
    return item;
  }

  /**
   * Runs `fn` over `items` in rounds of `concurrency`, keeping order. Rounds, not a sliding
   * window: measured against Vault on 2 CPUs, a window keeping 8 requests in flight made the
   * migration slower (server and certctl compete for the CPUs) without lowering certctl's own time.
   */
  private async inParallel<T, R>(items: T[], fn: (item: T) => Promise<R>): Promise<R[]> {
    const out: R[] = [];
    for (let i = 0; i < items.length; i += this.concurrency) out.push(...(await Promise.all(items.slice(i, i + this.concurrency).map(fn))));
    return out;
  }

  private progress(phase: MigrationProgress['phase'], done: number, total: number): void {
    this.options.onProgress?.({ ca: this.ca, phase, done, total });
  }
}

/** The CA key as the store keeps it, or undefined when its signer holds it elsewhere. */
async function readCaKey(store: CertStore, ca: string): Promise<string | undefined> {
  try {
    return await store.getCaKey(ca);
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}

/** One certificate with its record and key as a store holds them, or undefined for an unknown serial. */
async function readIssued(store: CertStore, ca: string, serial: string): Promise<IssuedCertificate | undefined> {
  const [found, keyPem] = await Promise.all([store.get(ca, serial), store.getKey(ca, serial)]);
  return found && { record: found.record, certPem: found.certPem, keyPem };
}

function digest(item: IssuedCertificate): Digest {
  return { cert: sha256(item.certPem), key: item.keyPem === undefined ? null : sha256(item.keyPem), record: sha256(canonicalJson(item.record)) };
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The certificate's SHA-256 fingerprint: equal certificates whatever their PEM line breaks. */
function fingerprint(pem: string): string {
  try {
    return new X509Certificate(pem).fingerprint256;
  } catch {
    // Not parseable (a store holding something odd): fall back to the text, which then must match exactly.
    return sha256(pem);
  }
}

/**
 * JSON with object keys sorted and undefined members dropped, so records compare equal
 * whichever order a store serialises their fields in.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

