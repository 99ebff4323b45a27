import type { CrlNumberRaisingStore } from '../cert-store';
import { InternalError } from '../errors';
import type { IssuedCertificate } from '../types';
import { digest, readIssued, type Digest } from './objects';
import type { MigrationOptions, MigrationProgress } from './types';

const DEFAULT_BATCH = 200;
const DEFAULT_CONCURRENCY = 8;

/** One CA's migration: both stores, the options, and what was learnt of the source on the way. */
export interface CaContext {
  readonly source: CrlNumberRaisingStore;
  readonly target: CrlNumberRaisingStore;
  readonly ca: string;
  readonly options: MigrationOptions;
  readonly batchSize: number;
  readonly concurrency: number;
  /** Digests of the source's certificates as read during this run, so verification need not read them twice. */
  readonly sourceDigests: Map<string, Digest>;
}

/** The context of CA `ca`, with the options' batch size and concurrency (at least 1) or their defaults. */
export function caContext(source: CrlNumberRaisingStore, target: CrlNumberRaisingStore, ca: string, options: MigrationOptions): CaContext {
  return {
    source,
    target,
    ca,
    options,
    batchSize: Math.max(1, options.batchSize ?? DEFAULT_BATCH),
    concurrency: Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY),
    sourceDigests: new Map(),
  };
}

/**
 * One certificate of the source, its digest remembered for verification.
 * @throws InternalError when it was listed but is gone: someone else is writing to the source.
 */
export async function readSource(ctx: CaContext, serial: string): Promise<IssuedCertificate> {
  const item = await readIssued(ctx.source, ctx.ca, serial);
  if (!item) {
    throw new InternalError(
      `certificate ${serial} of CA "${ctx.ca}" vanished from the ${ctx.source.kind} store during the migration; run it again when nothing else writes to the source`,
    );
  }
  ctx.sourceDigests.set(serial, digest(item));
  return item;
}

/** Reports progress of one phase to the caller's `onProgress`, if any. */
export function reportProgress(ctx: CaContext, phase: MigrationProgress['phase'], done: number, total: number): void {
  ctx.options.onProgress?.({ ca: ctx.ca, phase, done, total });
}
