import * as z from 'zod/mini';
import { parseSection, type ResolvedConfig } from '../../../src/core/config/load';

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
  const o = parseSection(config, 'memory', schema);
  return { space: o.space ?? 'default' };
}
