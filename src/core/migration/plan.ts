import { X509Certificate, type KeyObject } from 'node:crypto';
import { inRounds } from '../concurrency';
import { ConflictError, InternalError, NotFoundError } from '../errors';
import { readPrivateKey } from '../keys';
import { plural, someOf } from '../text';
import type { CaRecord, CertificateRecord, RevocationReason } from '../types';
import { compareCa, compareCertificate, type Comparison, type HeldCa } from './compare';
import { readSource, type CaContext } from './context';
import { readCaKey, readCrlNumber, readIssued } from './objects';
import type { CaMigration } from './types';

/** Revocations carried over in one `markRevoked` call: the same time and reason. */
export interface RevocationGroup {
  reason: RevocationReason;
  at: Date;
  serials: string[];
}

/** What the read-only planning learned about one CA: exactly what the real run writes. */
export interface CaPlan {
  /** The source's CA record, as a key importer gets it. */
  record: CaRecord;
  /** The CA as it goes into the target (or must already be there): without its key when the key is imported. */
  targetCa: HeldCa;
  /** The decrypted CA key, in memory only, when it goes to the key importer. */
  importKey?: KeyObject;
  /** Whether the target already holds this CA. */
  existing: boolean;
  /** The source's certificate records, every one of which the target holds afterwards. */
  records: CertificateRecord[];
  toCopy: CertificateRecord[];
  toRevoke: RevocationGroup[];
  crlNumber: bigint;
  targetCrlNumber: bigint;
  /** What cannot be reconciled: about the CA itself, and `serial (what differs)` per certificate. */
  conflicts: { ca: string[]; certificates: string[] };
  summary: CaMigration;
  /** Set once every object of the CA was read back from the target and found identical. */
  verified: boolean;
}

/** How the certificates of both stores compare. */
interface Classification {
  toCopy: CertificateRecord[];
  toRevoke: RevocationGroup[];
  identical: number;
  targetOnly: number;
  conflicts: string[];
}

/**
 * Reads both stores, writes neither: the source's CA and certificates, whether the target holds
 * this CA (the same one: reused; another: a conflict), and how every certificate compares —
 * to copy, identical, a revocation to carry over, a conflict — plus both CRL numbers.
 * @throws NotFoundError when the source has no such CA; ConflictError or InvalidInputError when
 *   the CA key cannot be imported (see {@link prepareImport}); the stores' own errors.
 */
export async function planCa(ctx: CaContext, warnings: string[]): Promise<CaPlan> {
  const { ca, source, target } = ctx;
  const { record, key: caKey } = await readSourceCa(ctx, warnings);
  const existing = await target.getCa(ca);
  const existingKey = existing ? await readCaKey(target, ca) : undefined;
  const importKey = await prepareImport(ctx, record, caKey, existingKey, warnings);
  const targetCa: HeldCa = importKey ? { record: { ...record, keyEncrypted: false }, key: undefined } : { record, key: caKey };
  const caCheck = existing ? compareCa(targetCa, { record: existing, key: existingKey }, target.kind) : { otherCa: false, what: [] };
  const records = await source.list(ca);
  // Another CA altogether: its certificates are not comparable, and the conflict stops the run anyway.
  const certs = caCheck.otherCa ? unclassified() : await classify(ctx, records, existing ? await target.list(ca) : []);
  if (certs.targetOnly) {
    warnings.push(
      `CA "${ca}": the target (the ${target.kind} store) also holds ${plural(certs.targetOnly, 'certificate')} the source lacks (issued there); they are kept, so the target holds more than the source`,
    );
  }
  const crlNumber = await readCrlNumber(source, ca);
  const targetCrlNumber = existing ? await readCrlNumber(target, ca) : 0n;
  const summary: CaMigration = {
    ca,
    caAction: existing ? 'reuse' : 'create',
    caKey: caKey !== undefined,
    certificates: records.length,
    revoked: records.filter((r) => r.status === 'revoked').length,
    copied: certs.toCopy.length,
    revocationsCarried: certs.toRevoke.reduce((n, g) => n + g.serials.length, 0),
    skipped: certs.identical,
    targetOnly: certs.targetOnly,
    verified: 0,
    crlNumber: String(crlNumber),
    targetCrlNumber: String(targetCrlNumber),
    ...(ctx.options.caKeyImporter ? { caKeyImported: importKey !== undefined } : {}),
    ...(ctx.options.deleteSource ? { sourceDeleted: false } : {}),
  };
  const { toCopy, toRevoke } = certs;
  const conflicts = { ca: caCheck.what, certificates: certs.conflicts };
  return {
    record,
    targetCa,
    importKey,
    existing: Boolean(existing),
    records,
    toCopy,
    toRevoke,
    crlNumber,
    targetCrlNumber,
    conflicts,
    summary,
    verified: false,
  };
}

/**
 * The source's CA record and key (undefined when its signer keeps the key, with a warning).
 * @throws NotFoundError when the source has no such CA.
 */
async function readSourceCa(ctx: CaContext, warnings: string[]): Promise<HeldCa> {
  const { ca, source, target } = ctx;
  const record = await source.getCa(ca);
  if (!record) throw new NotFoundError(`no CA "${ca}" in the ${source.kind} store to migrate; \`certctl migrate\` without --ca moves every CA it has`);
  const key = await readCaKey(source, ca);
  if (key === undefined) {
    warnings.push(
      `CA "${ca}" has no key in the ${source.kind} store (its signer keeps it): the ${target.kind} store gets its certificate and records, and that signer must keep signing`,
    );
    if (ctx.options.deleteSource) {
      warnings.push(
        `CA "${ca}": --delete-source deletes only what the ${source.kind} store holds of it (certificate, records, certificates); the CA key stays with its signer, which certctl does not touch`,
      );
    }
  }
  return { record, key };
}

/**
 * With a key importer, decrypts the source's CA key (in memory) and checks the importer can take
 * it, before anything is written: a wrong passphrase or a refusing signer stops the run here.
 * @returns the key to import, or undefined when there is no importer or no key.
 * @throws ConflictError when the target already holds the CA with its key, or the key does not
 *   match the certificate; InvalidInputError for a wrong or missing passphrase; the importer's errors.
 */
async function prepareImport(
  ctx: CaContext,
  record: CaRecord,
  caKey: string | undefined,
  existingKey: string | undefined,
  warnings: string[],
): Promise<KeyObject | undefined> {
  const { ca, source, target } = ctx;
  const importer = ctx.options.caKeyImporter;
  if (!importer) return undefined;
  if (caKey === undefined) {
    warnings.push(`CA "${ca}": the ${source.kind} store holds no key for it, so there is no key to import into ${importer.name}`);
    return undefined;
  }
  if (existingKey !== undefined) {
    // The store interface cannot delete a key, and the key must not stay beside the signer's copy.
    throw new ConflictError(
      `the ${target.kind} store already holds CA "${ca}" with its key (an earlier migration without --import-ca-key); certctl will not import the key into ${importer.name} and leave a copy in the store — remove the CA's entry from the ${target.kind} store first`,
    );
  }
  const key = readPrivateKey(caKey, record.keyEncrypted ? ctx.options.passphrase?.() : undefined, `the key of CA "${ca}" in the ${source.kind} store`);
  if (!new X509Certificate(record.certPem).checkPrivateKey(key)) {
    throw new ConflictError(`the key of CA "${ca}" in the ${source.kind} store does not match its certificate; nothing was imported`);
  }
  await importer.checkAdoptable(record);
  return key;
}

/**
 * Sorts the source's certificates against the target's listing: absent there (to copy), or
 * held by both, then read from both sides and compared (identical, a revocation to carry
 * over, a conflict). Certificates only the target holds are counted.
 */
async function classify(ctx: CaContext, records: CertificateRecord[], targetRecords: CertificateRecord[]): Promise<Classification> {
  const inTarget = new Set(targetRecords.map((r) => r.serial));
  const inSource = new Set(records.map((r) => r.serial));
  const both = records.filter((r) => inTarget.has(r.serial));
  const compared = await inRounds(both, ctx.concurrency, async ({ serial }) => ({ serial, comparison: await compareHeld(ctx, serial) }));
  const groups = new Map<string, RevocationGroup>();
  const conflicts: string[] = [];
  let identical = 0;
  for (const { serial, comparison: c } of compared) {
    if (c.kind === 'identical') identical++;
    else if (c.kind === 'conflict') conflicts.push(`${serial} (${c.what})`);
    else {
      const key = `${c.at.toISOString()} ${c.reason}`;
      if (!groups.has(key)) groups.set(key, { reason: c.reason, at: c.at, serials: [] });
      groups.get(key)!.serials.push(serial);
    }
  }
  return {
    toCopy: records.filter((r) => !inTarget.has(r.serial)),
    toRevoke: [...groups.values()],
    identical,
    targetOnly: targetRecords.filter((r) => !inSource.has(r.serial)).length,
    conflicts,
  };
}

function unclassified(): Classification {
  return { toCopy: [], toRevoke: [], identical: 0, targetOnly: 0, conflicts: [] };
}

/** One serial both stores listed, read from both and compared. */
async function compareHeld(ctx: CaContext, serial: string): Promise<Comparison> {
  const [source, target] = await Promise.all([readSource(ctx, serial), readIssued(ctx.target, ctx.ca, serial)]);
  if (!target) {
    throw new InternalError(
      `certificate ${serial} of CA "${ctx.ca}" vanished from the ${ctx.target.kind} store while it was compared; run the migration again when nothing else writes to the target`,
    );
  }
  return compareCertificate(source, target);
}

/** How many conflicting serials a message names before summarising the rest. */

/**
 * The error that stops a migration whose plans hold conflicts, naming each CA, the serials
 * and what differs, and what the operator can do; undefined when there is none.
 */
export function conflictError(source: string, target: string, plans: CaPlan[]): ConflictError | undefined {
  const parts = plans.flatMap(({ summary: { ca }, conflicts }) => {
    const what = [...conflicts.ca];
    const certs = conflicts.certificates;
    if (certs.length) {
      what.push(`${plural(certs.length, 'certificate')} conflict${certs.length === 1 ? 's' : ''}: ${someOf(certs)}`);
    }
    return what.length ? [`CA "${ca}": ${what.join('; ')}`] : [];
  });
  if (!parts.length) return undefined;
  return new ConflictError(
    `cannot migrate from the ${source} store into the ${target} store without replacing or un-revoking what the target holds — ${parts.join('. ')}. Nothing was written to either store. ` +
      `A migration adds only what the target lacks and carries revocations over from valid to revoked. ` +
      `If the ${target} store holds the newer state of the CA, migrate the other way; otherwise migrate into a store that does not hold the CA (another directory or prefix), or remove the CA from the ${target} store first`,
  );
}
