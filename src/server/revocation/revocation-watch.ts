import { tracksRevocations } from '../../core/cert-store';
import type { CaServices } from '../ca-services';
import { FreshReads } from './fresh-read';

/**
 * Whether a CA's revocations changed since a cache (the CRL, OCSP answers) was filled, asked on
 * every request: several server instances over one store (two over one Vault) must show a
 * revocation made through any of them at once, so no time-based trust. A store with the
 * `revocationVersion` capability (file, vault-kv) answers with one small read, coalesced across
 * requests in flight ({@link FreshReads}); for one without it (barbican) the caches read the
 * inventory itself instead — see {@link RevocationWatch.version}.
 */
export class RevocationWatch {
  private readonly reads: FreshReads<string | undefined>;

  constructor(private readonly services: CaServices) {
    this.reads = new FreshReads((ca) => {
      const store = this.services.store(ca);
      return tracksRevocations(store) ? store.revocationVersion(ca) : Promise.resolve(undefined);
    });
  }

  /**
   * The store's revocation version of `ca`, read after this call; undefined when the store has no
   * such capability (the caller then compares what it cached with the inventory).
   * @throws NotFoundError when the CA does not exist; the store's errors.
   */
  version(ca: string): Promise<string | undefined> {
    return this.reads.get(ca);
  }
}
