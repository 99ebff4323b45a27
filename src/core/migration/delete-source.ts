import { canDeleteCa } from '../cert-store';
import { ConflictError, InternalError, withContext } from '../errors';
import type { CaContext } from './context';
import { canonicalJson, readCrlNumber, sha256 } from './objects';
import type { CaPlan } from './plan';
import { plural } from '../text';

/**
 * Deletes the CA from the source, once it was verified in the target and the source still holds
 * exactly what was verified (nothing issued, revoked or CRL-numbered since it was read, which the
 * copy would have missed).
 * @throws ConflictError when the source changed: nothing is deleted; the store's error, with
 *   context, when the deletion fails; InternalError when called before verification.
 */
export async function deleteFromSource(ctx: CaContext, plan: CaPlan): Promise<void> {
  const { ca, source } = ctx;
  if (!canDeleteCa(source))
    throw new InternalError(`the ${source.kind} store cannot delete a CA; migrateStores should have refused --delete-source before copying`);
  if (!plan.verified) throw new InternalError(`deleting CA "${ca}" from the source before it was verified in the target`);
  const { records, crlNumber, summary } = plan;
  const now = ctx.options.freshSource?.() ?? source;
  const current = await now.list(ca);
  const expected = new Set(records.map((r) => sha256(canonicalJson(r))));
  const changed = current.filter((r) => !expected.has(sha256(canonicalJson(r)))).length + Math.max(0, records.length - current.length);
  const crlNow = await readCrlNumber(now, ca);
  if (changed || crlNow !== crlNumber) {
    const what = changed
      ? `${plural(changed, 'certificate record')} differ${changed === 1 ? 's' : ''} from what was copied`
      : `its CRL number moved from ${crlNumber} to ${crlNow}`;
    throw new ConflictError(
      `CA "${ca}" was copied and verified in the ${ctx.target.kind} store, but the ${source.kind} store changed meanwhile (${what}): nothing was deleted from the source. Stop what writes to it and run the same command again`,
    );
  }
  try {
    await source.deleteCa(ca);
  } catch (err) {
    throw withContext(
      err,
      `CA "${ca}" was copied and verified in the ${ctx.target.kind} store, but deleting it from the ${source.kind} store failed: ${(err as Error).message}`,
    );
  }
  summary.sourceDeleted = true;
}
