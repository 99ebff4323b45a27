import { X509Certificate } from 'node:crypto';
import { ConflictError, InternalError } from '../../core/errors';
import type { CaRecord } from '../../core/types';
import type { VaultClient } from './client';
import { fingerprintOf, issuerName, type PkiIssuers } from './pki-issuers';
import type { PkiSetup } from './pki-setup';

/** What `issuers/import/bundle` answers. */
interface ImportedBundle {
  imported_issuers?: string[] | null;
  existing_issuers?: string[] | null;
  mapping?: Record<string, string> | null;
}

/**
 * Moves a CA whose key certctl held (file, Barbican, Vault KV) into Vault's PKI engine
 * (`migrate --import-ca-key`), so Vault signs from then on with the same CA certificate.
 */
export class CaKeyImport {
  constructor(
    private readonly client: VaultClient,
    private readonly mount: string,
    private readonly issuers: PkiIssuers,
    private readonly setup: PkiSetup,
  ) {}

  /**
   * Checks, writing nothing, that {@link adoptCa} can take this CA: no other issuer of the mount
   * is already named `certctl-<ca>`.
   * @throws ConflictError naming the issuer.
   */
  async checkAdoptable(record: CaRecord): Promise<void> {
    const existing = await this.issuers.find(record.name);
    if (existing && fingerprintOf(existing.certPem) !== fingerprintOf(record.certPem)) {
      throw new ConflictError(
        `Vault's ${this.mount}/ mount already has an issuer named "${issuerName(record.name)}" with another certificate; certctl cannot import CA "${record.name}" there — use another vault.pki_mount or remove that issuer`,
      );
    }
  }

  /**
   * Enables/tunes the mount as `init` does, imports certificate + key as a PEM bundle
   * (`issuers/import/bundle`, idempotent), names the issuer `certctl-<ca>` and writes the roles.
   * `keyPem` must be unencrypted (PKCS#8 or SEC1); it is sent to Vault only, never written
   * anywhere else.
   * @returns what was done, for the operator.
   * @throws InternalError for an encrypted key (the caller decrypts it); ConflictError when the mount has another
   *   issuer of that name; InternalError when Vault did not link the key to the issuer (it would
   *   not be able to sign).
   */
  async adoptCa(record: CaRecord, keyPem: string): Promise<string[]> {
    if (keyPem.includes('ENCRYPTED')) {
      // The core decrypts the key first; an encrypted one here is a bug in the caller.
      throw new InternalError('adoptCa needs the CA key decrypted (Vault imports only unencrypted keys)');
    }
    await this.checkAdoptable(record);
    const cert = new X509Certificate(record.certPem);
    const notes = await this.setup.ensureMount({ notAfter: new Date(cert.validTo), name: record.name });
    const res = await this.client.write<ImportedBundle>(`${this.mount}/issuers/import/bundle`, { pem_bundle: `${keyPem.trim()}\n${record.certPem.trim()}\n` });
    // The import's warnings are about the CRL rebuild and AIA URLs of the mount, not about the CA.
    this.client.takeWarnings();
    const id = res.data?.imported_issuers?.[0] ?? res.data?.existing_issuers?.[0];
    if (!id) throw new InternalError(`Vault imported no issuer from CA "${record.name}"'s certificate`);
    const issuer = (await this.client.read<{ certificate?: string; key_id?: string; issuer_name?: string }>(`${this.mount}/issuer/${id}`))?.data;
    if (!issuer?.certificate || fingerprintOf(issuer.certificate) !== fingerprintOf(record.certPem)) {
      throw new InternalError(`Vault's issuer ${id} is not CA "${record.name}"'s certificate after the import`);
    }
    if (!issuer.key_id || !res.data?.mapping?.[id]) {
      throw new InternalError(
        `Vault imported CA "${record.name}"'s certificate but did not link its key to issuer ${id}; it could not sign. Check that the key matches the certificate`,
      );
    }
    if (issuer.issuer_name !== issuerName(record.name)) {
      await this.client.write(`${this.mount}/issuer/${id}`, { issuer_name: issuerName(record.name) }, 'PATCH');
    }
    notes.push(
      res.data?.imported_issuers?.length
        ? `imported CA "${record.name}" (certificate and key) into Vault as issuer ${this.mount}/issuer/${issuerName(record.name)}; Vault signs with it from now on`
        : `Vault already held CA "${record.name}" with its key (issuer ${this.mount}/issuer/${issuerName(record.name)}); nothing imported again`,
    );
    this.issuers.forget(record.name);
    notes.push(await this.setup.writeRoles(record.name));
    return notes;
  }
}
