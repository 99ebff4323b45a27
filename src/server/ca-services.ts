import type { Container } from 'inversify';
import type { BackendRegistry } from '../core/backend-registry';
import { CertStore, cachesReads } from '../core/cert-store';
import type { ResolvedConfig } from '../core/config/load';
import { createContainer } from '../core/container';
import { NotFoundError } from '../core/errors';
import { IssuanceService } from '../core/issuance-service';
import { CA_NAME_PATTERN } from '../core/names';
import type { PassphraseSource } from '../core/secrets';
import { Signer } from '../core/signer';
import type { CaRecord } from '../core/types';

/**
 * How stale a caching store's reads may get in a running server (Barbican's inventory: a certificate
 * revoked with the CLI beside the server is refused for mTLS within this time; revocations through
 * the server itself are seen at once, the store keeping its own writes).
 */
const STORE_CACHE_MS = 5000;
/** At most this many CAs' containers are kept (the least recently used goes). */
const MAX_CONTAINERS = 64;

/**
 * The core, per CA: the server serves every CA of its store (`/v1/ca/{ca}`, `/crl/{ca}.crl`), and
 * the core's IssuanceService acts on one CA, so each CA gets its own container from the one
 * composition root, built on first use and reused for every request after. The configured CA
 * (`ca:` / `--ca`) is the default of requests that name none.
 */
export class CaServices {
  private readonly containers = new Map<string, { container: Container; freshAt: number }>();

  constructor(
    private config: ResolvedConfig,
    private readonly passphrase: PassphraseSource,
    private readonly registry: BackendRegistry,
    /** Called on each new container before anything is resolved from it (metrics wrap the backends here). */
    private readonly decorate: (container: Container) => void = () => undefined,
  ) {}

  /** The CA requests act on when they name none. */
  get defaultCa(): string {
    return this.config.ca;
  }

  /** The resolved configuration the containers were built from. */
  get configuration(): ResolvedConfig {
    return this.config;
  }

  /**
   * The issuance workflow of one CA.
   * @throws NotFoundError for a name that is not a CA name (the CA's existence is checked by the service itself).
   */
  service(ca = this.config.ca): IssuanceService {
    return this.container(ca).get(IssuanceService);
  }

  /** The store of one CA's container (the inventory, read-only uses: identity checks, OCSP, CRL). */
  store(ca = this.config.ca): CertStore {
    return this.container(ca).get<CertStore>(CertStore);
  }

  /** The kind of the signer (file, vault, pkcs11, …), for /health. */
  signerKind(ca = this.config.ca): string {
    return this.signer(ca).kind;
  }

  /** The signer of one CA's container (the OCSP responder asks it for the CA key's signer: capability caKeySigning). */
  signer(ca = this.config.ca): Signer {
    return this.container(ca).get<Signer>(Signer);
  }

  /** Every CA of the store. */
  async listCas(): Promise<CaRecord[]> {
    const store = this.store();
    const records = await Promise.all((await store.listCas()).map((name) => store.getCa(name)));
    return records.filter((r): r is CaRecord => r !== undefined);
  }

  /**
   * Starts over with a new configuration (SIGHUP): requests in flight finish on the containers they
   * hold; new requests get containers built from `config`.
   */
  reload(config: ResolvedConfig): void {
    this.config = config;
    this.containers.clear();
  }

  private container(ca: string): Container {
    if (!CA_NAME_PATTERN.test(ca)) throw new NotFoundError(`no CA "${ca}"; CA names are letters, digits, "-" and "_"`);
    const now = Date.now();
    let entry = this.containers.get(ca);
    if (!entry) {
      const container = createContainer({ ...this.config, ca }, this.passphrase, this.registry);
      this.decorate(container);
      entry = { container, freshAt: now };
      this.containers.set(ca, entry);
      // Bounded: names that are not CAs (a client's typo, or a flood of made-up names) must not grow it for good.
      if (this.containers.size > MAX_CONTAINERS) this.containers.delete(this.containers.keys().next().value as string);
    } else if (now - entry.freshAt > STORE_CACHE_MS) {
      // A store that keeps what it read (Barbican's inventory) sees other processes' writes once this has passed.
      const store = entry.container.get<CertStore>(CertStore);
      if (cachesReads(store)) store.dropCaches();
      entry.freshAt = now;
    }
    // Most recently used last, so the first key is the one to evict.
    this.containers.delete(ca);
    this.containers.set(ca, entry);
    return entry.container;
  }
}
