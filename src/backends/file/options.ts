import { isAbsolute, resolve } from 'node:path';
import * as z from 'zod/mini';
import { parseSection, type ResolvedConfig } from '../../core/config/load';

/** Options of the file backend (`file:` in certctl.yaml). */
export interface FileStoreOptions {
  /** Directory holding one sub-directory per CA. */
  dir: string;
}

/** inversify token of {@link FileStoreOptions}. */
export const FileStoreOptions = Symbol.for('certctl.file.FileStoreOptions');

const optionsSchema = z.strictObject({ dir: z.optional(z.string().check(z.minLength(1, 'expected a directory path'))) });

/**
 * Parses `file:` with defaults first: the directory is CERTCTL_FILE_DIR, else `file.dir`
 * (relative to the config file), else `./pki` next to the config.
 * @throws ConfigError naming `file.<key>`.
 */
export function parseFileOptions(config: ResolvedConfig): FileStoreOptions {
  const o = parseSection(config, 'file', optionsSchema);
  const dir = config.env.CERTCTL_FILE_DIR || o.dir || 'pki';
  return { dir: isAbsolute(dir) ? dir : resolve(config.env.CERTCTL_FILE_DIR ? process.cwd() : config.baseDir, dir) };
}
