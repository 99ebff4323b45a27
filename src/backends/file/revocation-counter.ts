import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../core/fs-atomic';

const FILE = 'revocations';

/**
 * A CA directory's `revocations` file: how many revocations were recorded, the file store's
 * revocationVersion. A server asks on every OCSP request, so the count is kept with the file's
 * identity and re-read only when one stat shows another file (every change renames a new one in).
 * File-system errors pass through untranslated (the store translates them).
 */
export class RevocationCounter {
  private readonly seen = new Map<string, { id: string; count: number }>();

  /** The count; 0 when the file is absent (nothing revoked yet, or a store older than the file). */
  read(caDir: string): number {
    const path = join(caDir, FILE);
    const st = statSync(path, { bigint: true, throwIfNoEntry: false });
    if (!st) return 0;
    const id = `${st.ino}:${st.ctimeNs}:${st.size}`;
    const seen = this.seen.get(caDir);
    if (seen?.id === id) return seen.count;
    const count = Number(readFileSync(path, 'latin1').trim()) || 0;
    this.seen.set(caDir, { id, count });
    return count;
  }

  /** Adds `n` (the caller holds the CA lock, and has already appended the revocation events: a reader that sees the new count reads them too). */
  add(caDir: string, n: number): void {
    writeFileAtomic(join(caDir, FILE), `${this.read(caDir) + n}\n`, 0o600);
  }
}
