import { X509Certificate } from 'node:crypto';
import { InternalError } from '../../core/errors';
import { vaultFailure, type VaultClient } from './client';

/**
 * The Vault issuer of a certctl CA. Prefixed because Vault reserves the reference `default` (the
 * mount's default issuer) and because a mount may hold issuers certctl does not manage.
 */
export function issuerName(ca: string): string {
  return `certctl-${ca}`;
}

/** A certctl CA as an issuer of the PKI mount. */
export interface PkiIssuer {
  /** Vault's issuer id. */
  id: string;
  /** The issuer's certificate, PEM ending in one newline. */
  certPem: string;
  /** The certificates above it as Vault reports them (`ca_chain`, its own included), PEM. */
  caChain: string[];
}

/** What `LIST <mount>/issuers` says of each issuer. */
interface IssuerListing {
  issuer_name?: string;
}

/**
 * Finds certctl's CAs among the issuers of one PKI mount, without reading error text: Vault
 * 1.14 answers a read of an issuer name it lacks with a 500 whose only signal is its wording, so
 * the name is looked up in `LIST <mount>/issuers` (`key_info` carries each issuer's name).
 * Measured on the Vault 1.14.2 server of tools/vault-server: that LIST needs no capability in the
 * token's policy (Vault serves it unauthenticated), answers 404 with an empty `errors` list on a
 * mount with no issuer, and 404 "no handler for route" (reason `no-route`) where nothing is
 * mounted; both mean "no such CA" here.
 */
export class PkiIssuers {
  /**
   * Lookups by CA name. The lookup itself is cached, so the requests the core starts together
   * share one; only a found issuer stays cached.
   */
  private readonly lookups = new Map<string, Promise<PkiIssuer | undefined>>();

  constructor(
    private readonly client: VaultClient,
    private readonly mount: string,
  ) {}

  /**
   * The CA's issuer, or undefined when the mount has none of that name (or is not mounted).
   * @throws what VaultClient throws for any other failure (exit 6 sealed, 7 denied, ...).
   */
  find(ca: string): Promise<PkiIssuer | undefined> {
    let lookup = this.lookups.get(ca);
    if (!lookup) {
      const started = this.lookUp(ca);
      const forget = () => {
        if (this.lookups.get(ca) === started) this.lookups.delete(ca);
      };
      // Only the cache entry is dropped here; a failure still reaches every caller of `started`.
      started.then((found) => found || forget(), forget);
      this.lookups.set(ca, started);
      lookup = started;
    }
    return lookup;
  }

  /** Drops what is cached of the CA, after certctl created or renamed its issuer. */
  forget(ca: string): void {
    this.lookups.delete(ca);
  }

  private async lookUp(ca: string): Promise<PkiIssuer | undefined> {
    let listed: { keys: string[]; info: Record<string, IssuerListing> };
    try {
      listed = await this.client.listWithInfo<IssuerListing>(`${this.mount}/issuers`);
    } catch (err) {
      if (vaultFailure(err)?.reason === 'no-route') return undefined;
      throw err;
    }
    const id = listed.keys.find((k) => listed.info[k]?.issuer_name === issuerName(ca));
    if (!id) return undefined;
    const res = await this.client.read<{ certificate?: string; ca_chain?: string[] }>(`${this.mount}/issuer/${id}`);
    const certPem = requirePem(res?.data?.certificate, `issuer/${id}`);
    return { id, certPem: normalizePem(certPem), caChain: (res?.data?.ca_chain ?? []).map(normalizePem) };
  }
}

/**
 * The PEM a Vault answer carried.
 * @throws InternalError naming the endpoint when it carried none.
 */
export function requirePem(pem: string | undefined, what: string): string {
  if (!pem || !pem.includes('-----BEGIN')) throw new InternalError(`Vault's ${what} answered without a PEM`);
  return pem;
}

/** A PEM as certctl stores it: trimmed, one trailing newline. */
export function normalizePem(pem: string): string {
  return `${pem.trim()}\n`;
}

/** SHA-256 fingerprint of a certificate PEM, to tell two certificates apart. */
export function fingerprintOf(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}

/** A time as Vault's `not_after` takes it: RFC 3339 in whole seconds. */
export function vaultTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
