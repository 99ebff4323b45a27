import { inRounds } from '../concurrency';
import { withContext } from '../errors';
import type { CertificateRecord, IssuedCertificate } from '../types';
import { readSource, reportProgress, type CaContext } from './context';
import type { RevocationGroup } from './plan';

/**
 * Writes the certificates the target lacks in batches; each batch is all-or-nothing in the
 * target. The next batch is read from the source while the target writes this one, so a
 * network target is kept busy instead of waiting for certctl's reads.
 * @throws the target's error, with the failed batch and what is already in the target named.
 */
export async function copyMissing(ctx: CaContext, missing: CertificateRecord[]): Promise<void> {
  const { ca, target, batchSize } = ctx;
  reportProgress(ctx, 'copy', 0, missing.length);
  const read = async (start: number, afterWriteStarted: boolean): Promise<IssuedCertificate[]> => {
    // A macrotask first: the batch being written has sent its first requests before reading starts.
    if (afterWriteStarted) await new Promise((resolve) => setImmediate(resolve));
    return inRounds(missing.slice(start, start + batchSize), ctx.concurrency, ({ serial }) => readSource(ctx, serial));
  };
  let next: Promise<IssuedCertificate[]> | undefined = missing.length ? read(0, false) : undefined;
  for (let start = 0; start < missing.length; start += batchSize) {
    const batch = missing.slice(start, start + batchSize);
    const items = await next!;
    const write = target.putIssued(ca, items);
    next = start + batchSize < missing.length ? read(start + batchSize, true) : undefined;
    // Awaited on the next round; a failed write ends the loop first, and must not leave an unhandled rejection.
    next?.catch(() => undefined);
    try {
      await write;
    } catch (err) {
      const where = `copying certificates ${start + 1}–${start + batch.length} of ${missing.length} of CA "${ca}" (serials ${batch[0].serial} … ${batch[batch.length - 1].serial}) into the ${target.kind} store failed`;
      throw withContext(
        err,
        `${where}: ${(err as Error).message}. The source is untouched and the ${start} certificates before this batch are in the target; fix the cause and run the same command again to copy the rest`,
      );
    }
    reportProgress(ctx, 'copy', start + batch.length, missing.length);
  }
}

/**
 * Marks revoked in the target what the source revoked, with the source's exact time and reason
 * so both records become identical; one all-or-nothing `markRevoked` per time and reason.
 * @throws the target's error, naming the serials whose revocation was not carried over.
 */
export async function carryRevocations(ctx: CaContext, groups: RevocationGroup[]): Promise<void> {
  const { ca, target } = ctx;
  for (const [i, { serials, reason, at }] of groups.entries()) {
    try {
      await target.markRevoked(ca, serials, reason, at);
    } catch (err) {
      const done = groups.slice(0, i).reduce((n, g) => n + g.serials.length, 0);
      const which =
        serials.length === 1 ? `certificate ${serials[0]}` : `${serials.length} certificates (serials ${serials[0]} … ${serials[serials.length - 1]})`;
      throw withContext(
        err,
        `carrying the revocation of ${which} of CA "${ca}" (${reason}, ${at.toISOString()}) over into the ${target.kind} store failed: ${(err as Error).message}. The source is untouched; the certificates copied and the ${done} revocations carried before this one are in the target; fix the cause and run the same command again to finish`,
      );
    }
  }
}
