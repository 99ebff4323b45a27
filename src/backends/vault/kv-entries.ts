import { ConfigError, NotFoundError } from '../../core/errors';
import type { VaultClient } from './client';

/** A KV v2 read: the data and the version check-and-set must name to replace it. */
export interface Versioned<T> {
  data: T;
  version: number;
}

/**
 * Reads a KV v2 entry by its data path (`<mount>/data/…`); undefined when nothing is there.
 * @throws the client's errors.
 */
export async function readEntry<T>(client: VaultClient, dataPath: string): Promise<Versioned<T> | undefined> {
  const res = await client.read<{ data: T | null; metadata: { version: number; deletion_time?: string } }>(dataPath);
  // A deleted or destroyed version reads as 404, or as data null with a deletion_time.
  if (!res?.data?.data) return undefined;
  return { data: res.data.data, version: res.data.metadata.version };
}

/**
 * Writes a KV v2 entry with check-and-set: `cas` 0 creates, otherwise replaces exactly version `cas`;
 * returns the version written.
 * @throws ConflictError when the entry exists (cas 0) or is at another version; ConfigError when `mount` is no KV v2 mount; the client's errors.
 */
export async function writeEntry(client: VaultClient, mount: string, dataPath: string, value: unknown, cas: number): Promise<number> {
  try {
    const res = await client.write<{ version: number }>(dataPath, { options: { cas }, data: value });
    return res.data?.version ?? cas + 1;
  } catch (err) {
    if (err instanceof NotFoundError) {
      throw new ConfigError(`Vault has no KV v2 mount at ${mount}/ (vault.kv_mount); enable one with \`vault secrets enable -path=${mount} kv-v2\``, {
        cause: err,
      });
    }
    throw err;
  }
}
