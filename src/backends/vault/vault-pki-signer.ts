import { ResolvedConfig } from '../../core/config/load';
import { ConfigError, InternalError, NotFoundError, NotSupportedError, withContext } from '../../core/errors';
import { serialFromHex } from '../../core/serial';
import type { CaKeyImportingSigner, CaSpec, CreatedCa, LeafSpec, RemoteSigner, RevokingSigner, SerialListingSigner, WarningSigner } from '../../core/signer';
import type { CaRecord, CertificateRecord } from '../../core/types';
import { CertStore } from '../../core/cert-store';
import { mapLimit } from '../../core/concurrency';
import { toPem, pemBlocks } from '../../core/x509/pem';
import { inject, injectable } from 'inversify';
import { VaultClient, vaultFailure } from './client';
import { CaKeyImport } from './ca-key-import';
import { VaultOptions } from './options';
import { issuerName, normalizePem, PkiIssuers, requirePem, vaultTime } from './pki-issuers';
import { checkExpressible, roleBody, roleFor, ROLE_SHAPES, roleName } from './pki-roles';
import { PkiSetup } from './pki-setup';
import { verbatimBody } from './verbatim';

/** Vault's serial form: lower-case hex pairs joined by colons. */
export function vaultSerial(serial: string): string {
  return serialFromHex(serial)
    .toString('hex')
    .replace(/(..)(?!$)/g, '$1:');
}

/** Signing requests in flight at once. */
export const IN_FLIGHT = 4;

/** What `GET <mount>/cert/<serial>` says of a certificate Vault holds. */
interface StoredCertificate {
  certificate?: string;
  /** Unix seconds; 0 while not revoked. */
  revocation_time?: number;
}

/**
 * Vault's PKI engine signs (DESIGN.md "Two interfaces, three backends"): the CA key is created
 * inside Vault and never leaves it. One mount holds every certctl CA as an issuer named
 * `certctl-<CA name>`. This class signs, revokes and reads the CRL; the mount, issuers and roles
 * are set up by {@link PkiSetup} (pki-setup.ts, which says why leaves go through roles; roles `init`
 * does not write are written on first use, see pki-roles.ts), a CA key
 * is imported by {@link CaKeyImport} (ca-key-import.ts).
 */
@injectable()
export class VaultPkiSigner implements RemoteSigner, WarningSigner, RevokingSigner, SerialListingSigner, CaKeyImportingSigner {
  readonly kind = 'vault-pki';
  readonly inFlight = IN_FLIGHT;
  readonly importTarget: string;
  private readonly mount: string;
  private parts?: { issuers: PkiIssuers; setup: PkiSetup; caImport: CaKeyImport };
  /** Roles written on demand by this process (see {@link ensureRole}), by name. */
  private readonly rolesWritten = new Map<string, Promise<void>>();

  constructor(
    @inject(VaultClient) private readonly client: VaultClient,
    @inject(VaultOptions) options: Pick<VaultOptions, 'pkiMount'>,
    @inject(ResolvedConfig) private readonly config: ResolvedConfig,
    /** The store of the same container, so {@link revoke} can hand Vault certificates it did not sign. */
    @inject(CertStore) private readonly store: CertStore,
  ) {
    this.mount = options.pkiMount;
    this.importTarget = `Vault PKI (${this.mount}/)`;
  }

  /** Issuer lookup, setup and import, sharing one issuer cache; made on first use so the constructor only keeps its arguments. */
  private get pki(): { issuers: PkiIssuers; setup: PkiSetup; caImport: CaKeyImport } {
    if (!this.parts) {
      const issuers = new PkiIssuers(this.client, this.mount);
      const setup = new PkiSetup(this.client, this.mount, this.config, issuers);
      this.parts = { issuers, setup, caImport: new CaKeyImport(this.client, this.mount, issuers, setup) };
    }
    return this.parts;
  }

  takeWarnings(): string[] {
    // Vault warns when it ignores a parameter or caps a TTL; certctl checks the TTL itself below.
    return this.client.takeWarnings().map((w) => `Vault: ${w}`);
  }

  /** Enables the mount if needed, generates the CA inside Vault and writes its roles (see {@link PkiSetup.createCa}). */
  createCa(spec: CaSpec): Promise<CreatedCa> {
    if (spec.existingKeyLabel !== undefined) {
      return Promise.reject(new NotSupportedError("--key-label: Vault's PKI engine generates the CA key itself; leave out --key-label"));
    }
    return this.pki.setup.createCa(spec);
  }

  async sign(ca: string, specs: LeafSpec[]): Promise<Buffer[]> {
    if (!(await this.pki.issuers.find(ca)))
      throw new NotFoundError(`no issuer "${ca}" in Vault's ${this.mount}/ mount; create it with \`certctl --backend vault init\``);
    // A few requests in flight overlap certctl's work (CSRs) with Vault's signing. The issuance
    // service calls with one spec at a time and IN_FLIGHT calls in flight (see `inFlight`).
    return mapLimit(specs, IN_FLIGHT, (spec) => this.signOne(ca, spec));
  }

  private async signOne(ca: string, spec: LeafSpec): Promise<Buffer> {
    if (spec.basicConstraints.ca) throw new NotSupportedError('Vault signs CA certificates only through `certctl init --parent`');
    if (spec.ocspNoCheck) return this.signVerbatim(ca, spec);
    checkExpressible(spec);
    const { name: role, shape } = roleFor(ca, spec);
    if (!ROLE_SHAPES.some((r) => roleName(ca, r.ext, r.ku) === role)) await this.ensureRole(role, roleBody(ca, shape));
    let res;
    try {
      res = await this.client.write<{ certificate: string; expiration?: number; serial_number?: string }>(`${this.mount}/sign/${role}`, {
        csr: toCsrPem(spec),
        // The names certctl checked, not the CSR's: the core may have added the CN to the SANs.
        common_name: spec.commonName,
        // Vault takes email SANs from alt_names (an entry with "@"), URI SANs from uri_sans, O/OU/C/ST/L from the role.
        alt_names: [...spec.dnsNames, ...(spec.emails ?? [])].join(','),
        ip_sans: spec.ipAddresses.join(','),
        ...(spec.uris?.length ? { uri_sans: spec.uris } : {}),
        ...(spec.subject?.serialNumber ? { serial_number: spec.subject.serialNumber[0] } : {}),
        exclude_cn_from_sans: true,
        not_after: vaultTime(spec.notAfter),
      });
    } catch (err) {
      throw await this.explainSignFailure(err, ca, role);
    }
    const pem = requirePem(res.data?.certificate, `sign/${role}`);
    // not_after is not capped by the mount's max TTL (only `ttl` is); the core checks the validity
    // of what comes back (core/x509/signed-check.ts) before anything is stored.
    return pemBlocks(pem, 'CERTIFICATE')[0];
  }

  /** A delegated OCSP responder's certificate, through sign-verbatim (see {@link verbatimBody}). */
  private async signVerbatim(ca: string, spec: LeafSpec): Promise<Buffer> {
    const path = `${this.mount}/issuer/${issuerName(ca)}/sign-verbatim`;
    const res = await this.client.write<{ certificate: string }>(path, verbatimBody(spec, toCsrPem(spec), vaultTime(spec.notAfter)));
    return pemBlocks(requirePem(res.data?.certificate, 'sign-verbatim'), 'CERTIFICATE')[0];
  }

  /**
   * Writes a role that `init` does not (a custom profile's key usages, or subject attributes Vault
   * takes only from a role), once per process. On demand rather than at `init`: `init` refuses a CA
   * that exists, profiles are added to certctl.yaml after it, and a role per subject can only be
   * known when a request asks for it. Writing a role is idempotent, so two processes writing the
   * same one agree; its name is a digest of its body, so two shapes never share a name.
   */
  private ensureRole(role: string, body: Record<string, unknown>): Promise<void> {
    let written = this.rolesWritten.get(role);
    if (!written) {
      written = this.client.write(`${this.mount}/roles/${role}`, body).then(() => undefined);
      void written.catch(() => this.rolesWritten.delete(role));
      this.rolesWritten.set(role, written);
    }
    return written;
  }

  /**
   * A missing role is a 400 that Vault 1.14 tells apart only in words ("unknown role: …"), so on
   * a 400 the role is read (`GET <mount>/roles/<role>`: 404 with no errors when absent, measured)
   * and its absence reported as configuration. Any other failure passes as it is; a failed lookup
   * is named beside the original failure.
   */
  private async explainSignFailure(err: unknown, ca: string, role: string): Promise<unknown> {
    if (vaultFailure(err)?.status !== 400) return err;
    try {
      if (await this.client.read(`${this.mount}/roles/${role}`)) return err;
    } catch (lookup) {
      return withContext(err, `${(err as Error).message}; looking up role ${role} to explain that failed too: ${(lookup as Error).message}`);
    }
    // `init` refuses a CA that exists, so it cannot be pointed to for writing the roles again.
    return new ConfigError(
      `Vault's ${this.mount}/ mount has no role ${role}, which \`certctl init\` wrote when it created CA "${ca}"; it was removed since: recreate it as README.md's Vault section describes`,
      { cause: err },
    );
  }

  /** Vault's own CRL of the issuer, after making sure Vault knows every revocation certctl recorded. */
  async crl(ca: string, revoked: CertificateRecord[]): Promise<string> {
    if (!(await this.pki.issuers.find(ca))) throw new NotFoundError(`no issuer "${ca}" in Vault's ${this.mount}/ mount`);
    let pem = await this.currentCrl(ca);
    const listed = new Set(crlSerials(pem));
    const missing = revoked.filter((r) => !listed.has(r.serial.replace(/^0+/, '')));
    if (missing.length) {
      // A revocation that reached the store but not Vault (Vault was down then): tell Vault now.
      for (const r of missing) await this.revoke(ca, r.serial);
      await this.client.read(`${this.mount}/crl/rotate`);
      pem = await this.currentCrl(ca);
    }
    return pem;
  }

  private async currentCrl(ca: string): Promise<string> {
    const pem = await this.client.readText(`${this.mount}/issuer/${issuerName(ca)}/crl/pem`);
    if (!pem || !pem.includes('BEGIN X509 CRL')) throw new InternalError(`Vault returned no CRL for issuer "${ca}"`);
    return normalizePem(pem);
  }

  /** Every serial the mount has signed (LIST pki/certs), canonical upper-case hex. */
  async issuedSerials(): Promise<Set<string>> {
    const keys = await this.client.list(`${this.mount}/certs`);
    return new Set(keys.map((k) => k.replace(/[:-]/g, '').toUpperCase()));
  }

  /**
   * Whether Vault holds the certificate of one serial (`GET <mount>/cert/<serial>`, one request
   * instead of listing every serial): those it signed, and those it was handed to revoke.
   * @throws what VaultClient throws (NotFoundError when the mount does not exist).
   */
  async hasIssued(serial: string): Promise<boolean> {
    return (await this.stored(serial)) !== undefined;
  }

  /** The certificate Vault holds under a serial, or undefined (404 with no errors, measured on 1.14.2). */
  private async stored(serial: string): Promise<StoredCertificate | undefined> {
    return (await this.client.read<StoredCertificate>(`${this.mount}/cert/${vaultSerial(serial)}`))?.data;
  }

  /**
   * Tells Vault about a revocation. Whether Vault holds the serial and whether it is revoked comes
   * from `GET <mount>/cert/<serial>`, not from the wording of `pki/revoke`'s refusals: a revoked
   * one is left alone; one Vault never saw (signed by certctl before the CA key moved into Vault
   * with `migrate --import-ca-key`) is handed over as the certificate itself, which Vault
   * accepts when an issuer of the mount signed it.
   * @throws NotFoundError when Vault does not hold the serial and the store has no copy of it.
   */
  async revoke(ca: string, serial: string): Promise<void> {
    const known = await this.stored(serial);
    if (known && (known.revocation_time ?? 0) > 0) return;
    if (known) {
      await this.client.write(`${this.mount}/revoke`, { serial_number: vaultSerial(serial) });
      return;
    }
    const found = await this.store.get(ca, serial);
    if (!found) {
      throw new NotFoundError(
        `Vault's ${this.mount}/ mount does not know serial ${serial} of CA "${ca}" (it did not sign it) and certctl has no copy of the certificate to hand it over; the store records the revocation, but Vault's CRL cannot list it`,
      );
    }
    await this.revokeCertificate(found.certPem);
  }

  /** pki/revoke with the certificate itself: works for certificates Vault did not sign but one of the mount's issuers did. Idempotent (measured on 1.14.2: a second call answers 200 with the first revocation time). */
  async revokeCertificate(certPem: string): Promise<void> {
    await this.client.write(`${this.mount}/revoke`, { certificate: certPem });
  }

  /** See {@link CaKeyImport.checkAdoptable}. */
  checkAdoptable(record: CaRecord): Promise<void> {
    return this.pki.caImport.checkAdoptable(record);
  }

  /** See {@link CaKeyImport.adoptCa}. */
  adoptCa(record: CaRecord, keyPem: string): Promise<string[]> {
    return this.pki.caImport.adoptCa(record, keyPem);
  }
}

function toCsrPem(spec: LeafSpec): string {
  // Vault takes the key from a CSR (the core builds it: RemoteSigner); the names come from the request body.
  if (!spec.csrDer) throw new InternalError('the core passed Vault a certificate request without a CSR');
  return toPem(spec.csrDer, 'CERTIFICATE REQUEST');
}

/** Serials a CRL lists, canonical upper-case hex without leading zeros. */
function crlSerials(pem: string): string[] {
  const x509 = require('@peculiar/x509') as typeof import('@peculiar/x509');
  return new x509.X509Crl(pem).entries.map((e) => e.serialNumber.toUpperCase().replace(/^0+/, ''));
}
