import { statSync } from 'node:fs';
import { CertctlError, ConfigError, InternalError } from '../../core/errors';

/** Errors that mean "this process may not do this here": retrying cannot help, the setup must change. */
const PERMISSION_CODES = new Set(['EACCES', 'EPERM', 'EROFS']);

/**
 * The one translation of the file store's file-system errors into certctl's error kinds. A
 * permission error (EACCES, EPERM, EROFS) is configuration, exit 3: the message names the path
 * and what to do (fix the directory's owner or permissions, or point the store elsewhere).
 * Anything else the store did not expect is internal, exit 1. A CertctlError passes through.
 * @param what what the store was doing, e.g. `store certificates in CA "default"`.
 */
export function fileStoreError(err: unknown, what: string, storeDir: string): CertctlError {
  if (err instanceof CertctlError) return err;
  const { code, path } = (err ?? {}) as NodeJS.ErrnoException;
  if (code && PERMISSION_CODES.has(code)) {
    const why = code === 'EROFS' ? 'the file system is read-only' : 'permission denied';
    return new ConfigError(
      `cannot ${what}: ${why} on ${path ?? storeDir} (${code}); the file store needs to read and write ${storeDir} — fix its owner or permissions (or run certctl as the user that owns it), or point file.dir (or CERTCTL_FILE_DIR) at a directory this user can write`,
      { cause: err },
    );
  }
  const detail = code ? `${code}${path ? ` on ${path}` : ''}` : err instanceof Error ? err.message : String(err);
  return new InternalError(`cannot ${what}: ${detail}`, { cause: err });
}

/**
 * Whether a path exists. Unlike `existsSync`, only "no such entry" (ENOENT, or ENOTDIR: a file
 * where a directory was expected) is a no: a directory this process may not read throws
 * (EACCES), so a permission problem is never taken for a missing CA.
 */
export function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch (err) {
    if (isMissing(err)) return false;
    throw err;
  }
}

/** An fs error saying the path is not there (and nothing else, e.g. not a permission error). */
export function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
