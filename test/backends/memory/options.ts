import * as z from 'zod/mini';
import type { ResolvedConfig } from '../../../src/core/config/load';
import { describeIssues } from '../../../src/core/config/schema';
import { ConfigError } from '../../../src/core/errors';

/** Options of the memory backend (`memory:` in certctl.yaml). */
export interface MemoryOptions {
  /** Which in-memory space to use: two configurations naming one space see one store. */
  space: string;
}

/** inversify token of {@link MemoryOptions}. */
export const MemoryOptions = Symbol.for('certctl.test.memory.MemoryOptions');

const schema = z.strictObject({ space: z.optional(z.string().check(z.minLength(1, 'expected a space name'))) });

/**
 * Parses `memory:`; the space defaults to `default`.
 * @throws ConfigError naming `memory.<key>`.
 */
export function parseMemoryOptions(config: ResolvedConfig): MemoryOptions {
  const parsed = schema.safeParse(config.sections.memory ?? {});
  if (!parsed.success) throw new ConfigError(`${config.path ?? 'config'}: ${describeIssues(parsed.error.issues, 'memory')}`);
  return { space: parsed.data.space ?? 'default' };
}
