import { canDeleteCa, canRaiseCrlNumber, type CertStore, type CrlNumberRaisingStore } from '../cert-store';
import { NotSupportedError } from '../errors';
import { caContext, type CaContext } from './context';
import { carryRevocations, copyMissing } from './copy';
import { deleteFromSource } from './delete-source';
import { conflictError, planCa, type CaPlan } from './plan';
import { verifyCa } from './verify';
import type { MigrationOptions, MigrationResult } from './types';

export type { CaKeyImporter, CaMigration, MigrationOptions, MigrationProgress, MigrationResult } from './types';
export { canonicalJson } from './objects';

/**
 * Copies CAs from one CertStore to another (issue #5): the CA record, its key where the source
 * holds one, every issued certificate with its leaf key and inventory record as it stands
 * (revocations included), and the CRL counter. Backend-neutral: it only uses the CertStore
 * interface, so every pair of stores works the same way.
 *
 * First it plans, reading both stores and writing neither: each source certificate is to copy
 * (the target lacks it), identical, or a revocation to carry over (the target holds it valid);
 * anything else under one serial is a conflict, and any conflict in any CA stops the run —
 * the dry run too — before anything is written. Then, per CA, the plan is executed: missing
 * certificates in all-or-nothing batches, revocations with the source's time and reason, the
 * CRL counter raised to the source's (never lowered). A run interrupted midway is re-run to
 * finish: what it wrote is then found identical. Afterwards every object is read back from the
 * target and compared by SHA-256 with the source. The source is only read, unless
 * `deleteSource` is given: then, once every CA has been verified and found unchanged in the
 * source since it was read, each is deleted from the source.
 * @throws NotFoundError for a CA missing from the source; ConflictError for conflicts (naming
 *   CAs, serials and what differs) or when verification finds a difference; NotSupportedError
 *   when a store cannot carry the CRL number over, or `deleteSource` is asked of a store that
 *   cannot delete (before anything is read or written); the stores' own errors, with the write
 *   that failed named.
 */
export async function migrateStores(from: CertStore, to: CertStore, options: MigrationOptions = {}): Promise<MigrationResult> {
  const { source, target } = checkCapabilities(from, to, options);
  const cas = options.cas ?? (await source.listCas());
  const deleteSource = Boolean(options.deleteSource);
  const result: MigrationResult = { from: source.kind, to: target.kind, dryRun: Boolean(options.dryRun), deleteSource, cas: [], warnings: [] };
  if (options.caKeyImporter) result.keyImporter = options.caKeyImporter.name;
  // Every CA is planned (read only) before any is written, so a conflict in the last CA stops the run before the first is touched.
  const contexts = cas.map((ca) => caContext(source, target, ca, options));
  const plans: CaPlan[] = [];
  for (const ctx of contexts) plans.push(await planCa(ctx, result.warnings));
  result.cas = plans.map((p) => p.summary);
  const conflict = conflictError(source.kind, target.kind, plans);
  if (conflict) throw conflict;
  if (options.dryRun) return result;
  if (options.caKeyImporter) result.notes = [];
  for (const [i, ctx] of contexts.entries()) await executeCa(ctx, plans[i], result.notes);
  // Only once every CA is in the target and verified: a failure in the last CA leaves every source CA in place.
  if (deleteSource) for (const [i, ctx] of contexts.entries()) await deleteFromSource(ctx, plans[i]);
  return result;
}

/** Refuses, before anything is read, stores that lack what the migration needs; returns them with the capability they have. */
function checkCapabilities(source: CertStore, target: CertStore, options: MigrationOptions): { source: CrlNumberRaisingStore; target: CrlNumberRaisingStore } {
  if (!canRaiseCrlNumber(source) || !canRaiseCrlNumber(target)) {
    // Without it the target would number its CRLs from 1 again, and relying parties reject a CRL number going backwards.
    const which = !canRaiseCrlNumber(source) ? source : target;
    throw new NotSupportedError(`the ${which.kind} store cannot carry CRL numbers over, so certctl cannot migrate ${which === source ? 'from' : 'into'} it`);
  }
  if (options.deleteSource && !canDeleteCa(source)) {
    throw new NotSupportedError(
      `the ${source.kind} store cannot delete a CA, so --delete-source cannot remove the source; nothing was copied — migrate without it and remove the source with the store's own tools`,
    );
  }
  return { source, target };
}

/**
 * Writes one CA's plan: the CA key into the importing signer, the CA if the target lacks it, the
 * missing certificates, the revocations to carry over, the CRL number; then verifies everything.
 */
async function executeCa(ctx: CaContext, plan: CaPlan, notes: string[] = []): Promise<void> {
  const { ca, target } = ctx;
  const importer = ctx.options.caKeyImporter;
  if (plan.importKey && importer) {
    // Into the signer first (idempotent): a run interrupted after this imports again harmlessly.
    // The PEM exists only in memory, on its way to the importer.
    notes.push(...(await importer.adoptCa(plan.record, plan.importKey.export({ type: 'pkcs8', format: 'pem' }) as string)));
  }
  if (!plan.existing) {
    await target.createCa(plan.targetCa.record, plan.targetCa.key);
    // Listed once after creating: cheap for a new CA, and it lets a store answer its own
    // duplicate checks from what it has just read instead of a lookup per serial.
    await target.list(ca);
  }
  await copyMissing(ctx, plan.toCopy);
  await carryRevocations(ctx, plan.toRevoke);
  if (plan.targetCrlNumber < plan.crlNumber) await target.raiseCrlNumber(ca, plan.crlNumber);
  plan.summary.verified = await verifyCa(ctx, plan);
  plan.verified = true;
}
