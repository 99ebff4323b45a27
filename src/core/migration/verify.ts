import { inRounds } from '../concurrency';
import type { CertStore } from '../cert-store';
import { ConflictError } from '../errors';
import { plural, someOf } from '../text';
import { keylessIgnores, type HeldCa } from './compare';
import { readSource, reportProgress, type CaContext } from './context';
import { differingFields, digest, readCaKey, readCrlNumber, readIssued, sha256 } from './objects';
import type { CaPlan } from './plan';

/** How many differing serials an error names before summarising the rest. */

/**
 * Reads every object back from the target (through a fresh instance when given) and compares
 * SHA-256 digests with the source: CA record and key, CRL number, then each certificate, key
 * and record (revocations carried over included).
 * @returns how many certificates were verified.
 * @throws ConflictError naming what differs.
 */
export async function verifyCa(ctx: CaContext, plan: CaPlan): Promise<number> {
  const { ca, source } = ctx;
  const target = ctx.options.verifyTarget?.() ?? ctx.target;
  const problems = await caProblems(ctx, target, plan.targetCa);
  const targetCrl = await readCrlNumber(target, ca);
  if (targetCrl < plan.crlNumber) problems.push(`the CRL number is ${targetCrl}, behind the source's ${plan.crlNumber}`);
  const differing = await differingCertificates(ctx, target, plan);
  if (differing.length) {
    problems.push(`${plural(differing.length, 'certificate')} differ${differing.length === 1 ? 's' : ''}: ${someOf(differing)}`);
  }
  if (problems.length) {
    throw new ConflictError(
      `verification of CA "${ca}" in the ${target.kind} store failed (read back and compared by SHA-256 with the ${source.kind} store): ${problems.join('; ')}. The source is untouched; do not switch to the target until this is resolved`,
    );
  }
  return plan.records.length;
}

async function caProblems(ctx: CaContext, target: CertStore, expected: HeldCa): Promise<string[]> {
  const problems: string[] = [];
  const held = await target.getCa(ctx.ca);
  if (!held) problems.push('the CA record is missing');
  else if (differingFields(held, expected.record, keylessIgnores(expected)).length) problems.push('the CA record (certificate, chain or metadata) differs');
  if (expected.key !== undefined && sha256((await readCaKey(target, ctx.ca)) ?? '') !== sha256(expected.key)) problems.push('the CA key differs or is missing');
  return problems;
}

/** `serial (what)` for every source certificate the target lacks or holds otherwise. */
async function differingCertificates(ctx: CaContext, target: CertStore, plan: CaPlan): Promise<string[]> {
  const { records } = plan;
  const differing: string[] = [];
  reportProgress(ctx, 'verify', 0, records.length);
  for (let start = 0; start < records.length; start += ctx.batchSize) {
    const batch = records.slice(start, start + ctx.batchSize);
    const found = await inRounds(batch, ctx.concurrency, async ({ serial }) => {
      // Read while planning or copying; read now only if neither did.
      const expected = ctx.sourceDigests.get(serial) ?? digest(await readSource(ctx, serial));
      const actual = await readIssued(target, ctx.ca, serial);
      if (!actual) return `${serial} (missing)`;
      const got = digest(actual);
      const what = (['cert', 'key', 'record'] as const).filter((k) => got[k] !== expected[k]);
      return what.length ? `${serial} (${what.map((k) => (k === 'cert' ? 'certificate' : k)).join(', ')})` : undefined;
    });
    differing.push(...found.filter((d): d is string => d !== undefined));
    reportProgress(ctx, 'verify', start + batch.length, records.length);
  }
  return differing;
}
