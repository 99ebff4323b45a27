import { X509Certificate } from 'node:crypto';
import type { ResolvedConfig } from '../../core/config/load';
import { ConfigError, ConflictError, InternalError, NotFoundError, NotSupportedError } from '../../core/errors';
import { serialFromHex } from '../../core/serial';
import type { CaSpec, CreatedCa, LeafSpec, Signer } from '../../core/signer';
import type { CaRecord, CertificateRecord, KeyType } from '../../core/types';
import type { CertStore } from '../../core/cert-store';
import { mapLimit } from '../../core/concurrency';
import { pemBlocks } from '../../core/x509/der-reader';
import { toPem, type ExtKeyUsageName, type KeyUsageName } from '../../core/x509/certificate-builder';
import type { VaultClient } from './client';

const KEY_USAGE: Record<KeyUsageName, string> = {
  digitalSignature: 'DigitalSignature',
  keyEncipherment: 'KeyEncipherment',
  keyCertSign: 'CertSign',
  cRLSign: 'CRLSign',
};

/** Vault's key_type/key_bits for each certctl key type. */
function vaultKey(keyType: KeyType): { key_type: string; key_bits: number } {
  switch (keyType) {
    case 'ec-p256':
      return { key_type: 'ec', key_bits: 256 };
    case 'ec-p384':
      return { key_type: 'ec', key_bits: 384 };
    case 'rsa-2048':
    case 'rsa-3072':
    case 'rsa-4096':
      return { key_type: 'rsa', key_bits: Number(keyType.slice(4)) };
    case 'ed25519':
      return { key_type: 'ed25519', key_bits: 0 };
  }
}

/** Vault's serial form: lower-case hex pairs joined by colons. */
export function vaultSerial(serial: string): string {
  return serialFromHex(serial)
    .toString('hex')
    .replace(/(..)(?!$)/g, '$1:');
}

/**
 * The Vault issuer of a certctl CA. Prefixed because Vault reserves the reference `default` (the
 * mount's default issuer) and because a mount may hold issuers certctl does not manage.
 */
export function issuerName(ca: string): string {
  return `certctl-${ca}`;
}

/** The role certctl signs a leaf with: one per CA, extended key usage set and key usage set. */
export function roleName(ca: string, extKeyUsage: ExtKeyUsageName[], keyUsage: KeyUsageName[]): string {
  const eku = extKeyUsage.includes('serverAuth') && extKeyUsage.includes('clientAuth') ? 'peer' : extKeyUsage.includes('serverAuth') ? 'server' : 'client';
  return `certctl-${ca}-${eku}-${keyUsage.includes('keyEncipherment') ? 'sig-enc' : 'sig'}`;
}

/** Every (extended key usage, key usage) pair DESIGN.md's leaf profiles produce. */
const ROLE_SHAPES: { ext: ExtKeyUsageName[]; ku: KeyUsageName[] }[] = (
  [['serverAuth'], ['clientAuth'], ['serverAuth', 'clientAuth']] as ExtKeyUsageName[][]
).flatMap((ext) => [
  { ext, ku: ['digitalSignature'] as KeyUsageName[] },
  { ext, ku: ['digitalSignature', 'keyEncipherment'] as KeyUsageName[] },
]);

/** Signing requests in flight at once. */
export const IN_FLIGHT = 4;

/** The longest lifetime certctl asks Vault to allow on a mount it enables (10 years, as `init`'s default). */
const MOUNT_MAX_TTL_HOURS = 87600;

/**
 * Vault's PKI engine signs (DESIGN.md "Two interfaces, three backends"): the CA key is created
 * inside Vault and never leaves it. One mount holds every certctl CA as an issuer named
 * `certctl-<CA name>`.
 *
 * Leaves are signed with `sign/:role`, not `sign-verbatim`: measured on Vault 1.14,
 * sign-verbatim never writes BasicConstraints on a leaf (it drops one asked for in the CSR),
 * backdates notBefore by a fixed 30 s, and copies other CSR extensions and a CSR's own key
 * usages over the request's. A role can do what DESIGN.md's profiles need — critical
 * BasicConstraints CA:FALSE (`basic_constraints_valid_for_non_ca`), a 60 s backdate, exactly
 * the profile's key usage and extended key usage — and takes the subject CN and SANs from the
 * request, which certctl fills from its own checked names. So `init` writes one role per
 * (CA, extended key usage, key usage) with every name restriction off: certctl's policy, checked
 * in the core before any Vault call, stays the only policy.
 */
export class VaultPkiSigner implements Signer {
  readonly kind = 'vault-pki';
  readonly inFlight = IN_FLIGHT;
  readonly importTarget: string;
  private readonly issuers = new Map<string, Promise<{ certPem: string } | undefined>>();

  constructor(
    private readonly client: VaultClient,
    private readonly mount: string,
    private readonly config: ResolvedConfig,
  ) {
    this.importTarget = `Vault PKI (${mount}/)`;
  }

  takeWarnings(): string[] {
    // Vault warns when it ignores a parameter or caps a TTL; certctl checks the TTL itself below.
    return this.client.takeWarnings().map((w) => `Vault: ${w}`);
  }

  async createCa(spec: CaSpec): Promise<CreatedCa> {
    if (spec.existingKeyLabel !== undefined) throw new NotSupportedError("--key-label: Vault's PKI engine generates the CA key itself; leave out --key-label");
    const notes = await this.ensureMount(spec);
    if (await this.issuer(spec.name)) {
      throw new ConflictError(`Vault's ${this.mount}/ mount already has an issuer named "${issuerName(spec.name)}"; choose another --ca name`);
    }
    const key = vaultKey(spec.keyType);
    const notAfter = spec.notAfter.toISOString().replace(/\.\d{3}Z$/, 'Z');
    let certPem: string;
    let chainPem: string[] = [];
    if (!spec.parent) {
      const res = await this.client.write<{ certificate: string }>(`${this.mount}/root/generate/internal`, {
        common_name: spec.commonName,
        ...key,
        not_after: notAfter,
        issuer_name: issuerName(spec.name),
        key_name: issuerName(spec.name),
      });
      certPem = requirePem(res.data?.certificate, 'root/generate/internal');
      notes.push(`generated root CA "${spec.name}" inside Vault (${this.mount}/issuer/${issuerName(spec.name)}); its key never leaves Vault`);
    } else {
      const parent = await this.issuer(spec.parent);
      if (!parent) throw new NotFoundError(`no issuer "${spec.parent}" in Vault's ${this.mount}/ mount to sign the intermediate`);
      const csr = await this.client.write<{ csr: string }>(`${this.mount}/intermediate/generate/internal`, {
        common_name: spec.commonName,
        ...key,
        key_name: issuerName(spec.name),
      });
      const signed = await this.client.write<{ certificate: string; ca_chain?: string[] }>(
        `${this.mount}/issuer/${issuerName(spec.parent)}/sign-intermediate`,
        {
          csr: requirePem(csr.data?.csr, 'intermediate/generate/internal'),
          common_name: spec.commonName,
          max_path_length: 0,
          not_after: notAfter,
          use_csr_values: false,
        },
      );
      certPem = requirePem(signed.data?.certificate, 'sign-intermediate');
      const imported = await this.client.write<{ imported_issuers?: string[] }>(`${this.mount}/intermediate/set-signed`, { certificate: certPem });
      const id = imported.data?.imported_issuers?.[0];
      if (!id) throw new InternalError(`Vault imported no issuer from the signed intermediate "${spec.name}"`);
      await this.client.write(`${this.mount}/issuer/${id}`, { issuer_name: issuerName(spec.name) }, 'PATCH');
      chainPem = [parent.certPem];
      const parentChain = (await this.client.read<{ ca_chain?: string[] }>(`${this.mount}/issuer/${issuerName(spec.parent)}`))?.data?.ca_chain ?? [];
      for (const pem of parentChain.map(normalizePem)) if (!chainPem.includes(pem) && pem !== normalizePem(certPem)) chainPem.push(pem);
      notes.push(`generated intermediate CA "${spec.name}" inside Vault, signed by "${spec.parent}"; its key never leaves Vault`);
    }
    this.issuers.delete(spec.name);
    notes.push(await this.writeRoles(spec.name));
    return {
      record: {
        name: spec.name,
        certPem: normalizePem(certPem),
        chainPem,
        parent: spec.parent,
        keyType: spec.keyType,
        keyEncrypted: false,
        createdAt: new Date().toISOString(),
      },
      notes,
    };
  }

  /**
   * Enables the PKI engine at the mount when missing and raises its max TTL so it covers the CA;
   * configures the CRL/issuer URLs from certctl.yaml. Idempotent; says what it changed.
   */
  async ensureMount(spec: Pick<CaSpec, 'notAfter'>): Promise<string[]> {
    const notes: string[] = [];
    const hoursNeeded = Math.ceil((spec.notAfter.getTime() - Date.now()) / 3600000);
    const wanted = Math.max(MOUNT_MAX_TTL_HOURS, hoursNeeded);
    const mount = await this.client.read<{ type?: string; config?: { max_lease_ttl?: number } }>(`sys/mounts/${this.mount}`).catch((err) => {
      // Vault answers 400 "No secret engine mount at …" for a missing mount.
      if ((err as { code?: string }).code === 'invalid_input') return undefined;
      throw err;
    });
    if (!mount?.data?.type) {
      await this.client.write(`sys/mounts/${this.mount}`, { type: 'pki', description: 'certctl', config: { max_lease_ttl: `${wanted}h` } });
      notes.push(`enabled the PKI secrets engine at ${this.mount}/ (max lease TTL ${wanted}h)`);
    } else if (mount.data.type !== 'pki') {
      throw new NotSupportedError(`Vault's ${this.mount}/ mount is a ${mount.data.type} engine, not pki; set vault.pki_mount to a PKI mount or a free path`);
    } else {
      const maxSeconds = mount.data.config?.max_lease_ttl ?? 0;
      if (maxSeconds < hoursNeeded * 3600) {
        await this.client.write(`sys/mounts/${this.mount}/tune`, { max_lease_ttl: `${wanted}h` });
        notes.push(`raised the max lease TTL of ${this.mount}/ to ${wanted}h so it covers the CA's lifetime`);
      } else {
        notes.push(`using the existing PKI mount ${this.mount}/`);
      }
    }
    const { crl, issuingCa } = this.config.urls;
    if (crl.length || issuingCa.length) {
      await this.client.write(`${this.mount}/config/urls`, { crl_distribution_points: crl, issuing_certificates: issuingCa });
      notes.push(`set ${this.mount}/config/urls from certctl.yaml's urls:`);
    }
    return notes;
  }

  /** Writes (or rewrites: idempotent) the CA's roles; returns a note for the operator. */
  async writeRoles(ca: string): Promise<string> {
    for (const shape of ROLE_SHAPES) {
      await this.client.write(`${this.mount}/roles/${roleName(ca, shape.ext, shape.ku)}`, {
        issuer_ref: issuerName(ca),
        key_type: 'any',
        key_usage: shape.ku.map((u) => KEY_USAGE[u]),
        ext_key_usage: [],
        server_flag: shape.ext.includes('serverAuth'),
        client_flag: shape.ext.includes('clientAuth'),
        code_signing_flag: false,
        email_protection_flag: false,
        basic_constraints_valid_for_non_ca: true,
        not_before_duration: '60s',
        // Names were checked by certctl's policy; Vault's own name rules stay out of the way.
        allow_any_name: true,
        enforce_hostnames: false,
        allow_ip_sans: true,
        allow_wildcard_certificates: true,
        allow_localhost: true,
        allow_bare_domains: true,
        require_cn: false,
        use_csr_common_name: false,
        use_csr_sans: false,
        cn_validations: ['disabled'],
        no_store: false,
        generate_lease: false,
      });
    }
    return `wrote the roles certctl signs ${ca}'s leaves with: ${ROLE_SHAPES.map((r) => roleName(ca, r.ext, r.ku)).join(', ')}`;
  }

  /**
   * The CA's issuer in Vault, or undefined. The lookup itself is cached, so the requests the core
   * starts together share one read; only a found issuer stays cached.
   */
  private issuer(name: string): Promise<{ certPem: string } | undefined> {
    let lookup = this.issuers.get(name);
    if (!lookup) {
      const started = this.readIssuer(name);
      const forget = () => {
        if (this.issuers.get(name) === started) this.issuers.delete(name);
      };
      started.then((found) => found || forget(), forget);
      this.issuers.set(name, started);
      lookup = started;
    }
    return lookup;
  }

  private async readIssuer(name: string): Promise<{ certPem: string } | undefined> {
    const res = await this.client.read<{ certificate?: string }>(`${this.mount}/issuer/${issuerName(name)}`).catch((err) => {
      // Vault 1.14 answers a missing issuer reference with 500 "unable to find PKI issuer"; a
      // missing mount with 404/400. Both mean "no such CA" to certctl.
      if (/unable to find PKI issuer|no handler|No secret engine mount|not found/i.test((err as Error).message)) return undefined;
      throw err;
    });
    const pem = res?.data?.certificate;
    return pem ? { certPem: normalizePem(pem) } : undefined;
  }

  async sign(ca: string, specs: LeafSpec[]): Promise<Buffer[]> {
    if (!(await this.issuer(ca))) throw new NotFoundError(`no issuer "${ca}" in Vault's ${this.mount}/ mount; create it with \`certctl --backend vault init\``);
    // A few requests in flight overlap certctl's work (CSRs) with Vault's signing. The issuance
    // service calls with one spec at a time and IN_FLIGHT calls in flight (see `inFlight`).
    return mapLimit(specs, IN_FLIGHT, async (spec) => {
      if (spec.basicConstraints.ca) throw new NotSupportedError('Vault signs CA certificates only through `certctl init --parent`');
      const role = roleName(ca, spec.extKeyUsage, spec.keyUsage);
      const res = await this.client
        .write<{ certificate: string; expiration?: number; serial_number?: string }>(`${this.mount}/sign/${role}`, {
          csr: toCsrPem(spec),
          // The names certctl checked, not the CSR's: the core may have added the CN to the SANs.
          common_name: spec.commonName,
          alt_names: spec.dnsNames.join(','),
          ip_sans: spec.ipAddresses.join(','),
          exclude_cn_from_sans: true,
          not_after: spec.notAfter.toISOString().replace(/\.\d{3}Z$/, 'Z'),
        })
        .catch((err) => {
          if (/unknown role|role .* not found/i.test((err as Error).message)) {
            throw new ConfigError(
              `Vault's ${this.mount}/ mount has no role ${role}; run \`certctl --backend vault init\` for CA "${ca}" again (it rewrites the roles) or create it as README.md describes`,
              { cause: err },
            );
          }
          throw err;
        });
      const pem = requirePem(res.data?.certificate, `sign/${role}`);
      // not_after is not capped by the mount's max TTL (only `ttl` is), but a certificate that
      // does not end when asked is never recorded as if it did. Vault reports the end itself.
      const expiration = Number(res.data?.expiration) * 1000;
      if (!Number.isFinite(expiration) || Math.abs(expiration - spec.notAfter.getTime()) > 120_000) {
        this.client.takeWarnings();
        throw new InternalError(
          `Vault issued serial ${res.data?.serial_number ?? '?'} until ${Number.isFinite(expiration) ? new Date(expiration).toISOString() : '(unknown)'}, not ${spec.notAfter.toISOString()} as asked; check the role ${role} and the mount's max TTL, and revoke that certificate`,
        );
      }
      return pemBlocks(pem, 'CERTIFICATE')[0];
    });
  }

  /** Vault's own CRL of the issuer, after making sure Vault knows every revocation certctl recorded. */
  async crl(ca: string, revoked: CertificateRecord[]): Promise<string> {
    if (!(await this.issuer(ca))) throw new NotFoundError(`no issuer "${ca}" in Vault's ${this.mount}/ mount`);
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

  async revoke(ca: string, serial: string): Promise<void> {
    try {
      await this.client.write(`${this.mount}/revoke`, { serial_number: vaultSerial(serial) });
    } catch (err) {
      // Revoking twice is not an error for certctl's purposes (the CRL lists it either way).
      if (/already (been )?revoked/i.test((err as Error).message)) return;
      // Measured on Vault 1.14: pki/revoke by serial answers "certificate with serial … not found"
      // for a certificate Vault did not sign (one signed by certctl before the CA key was moved
      // into Vault with `migrate --import-ca-key`). pki/revoke takes the certificate itself for
      // those, when an issuer of the mount signed it.
      if (/not found/i.test((err as Error).message)) {
        const found = this.store ? await this.store.get(ca, serial) : undefined;
        if (!found) {
          throw new NotFoundError(
            `Vault's ${this.mount}/ mount does not know serial ${serial} of CA "${ca}" (it did not sign it) and certctl has no copy of the certificate to hand it over; the store records the revocation, but Vault's CRL cannot list it`,
            { cause: err },
          );
        }
        await this.revokeCertificate(found.certPem);
        return;
      }
      throw err;
    }
  }

  /** pki/revoke with the certificate itself: works for certificates Vault did not sign but one of the mount's issuers did. */
  async revokeCertificate(certPem: string): Promise<void> {
    try {
      await this.client.write(`${this.mount}/revoke`, { certificate: certPem });
    } catch (err) {
      if (/already (been )?revoked/i.test((err as Error).message)) return;
      throw err;
    }
  }

  /** The store of the same certctl process, so {@link revoke} can hand Vault certificates it did not sign. */
  private store?: CertStore;

  /** Called by the core wiring (container.ts) with the configured store. */
  attachStore(store: CertStore): void {
    this.store = store;
  }

  /**
   * Checks, writing nothing, that {@link adoptCa} can take this CA: no other issuer of the mount
   * is already named `certctl-<ca>`.
   * @throws ConflictError naming the issuer.
   */
  async checkAdoptable(record: CaRecord): Promise<void> {
    const existing = await this.issuer(record.name);
    if (existing && fingerprintOf(existing.certPem) !== fingerprintOf(record.certPem)) {
      throw new ConflictError(
        `Vault's ${this.mount}/ mount already has an issuer named "${issuerName(record.name)}" with another certificate; certctl cannot import CA "${record.name}" there — use another vault.pki_mount or remove that issuer`,
      );
    }
  }

  /**
   * Moves a CA whose key certctl held (file, Barbican, Vault KV) into Vault's PKI engine so Vault
   * signs from then on with the same CA certificate: enables/tunes the mount as `init` does,
   * imports certificate + key as a PEM bundle (`issuers/import/bundle`, idempotent), names the
   * issuer `certctl-<ca>` and writes the roles. `keyPem` must be unencrypted (PKCS#8 or SEC1);
   * it is sent to Vault only, never written anywhere else.
   * @returns what was done, for the operator.
   * @throws ConflictError when the mount has another issuer of that name; InternalError when
   *   Vault did not link the key to the issuer (it would not be able to sign).
   */
  async adoptCa(record: CaRecord, keyPem: string): Promise<string[]> {
    if (keyPem.includes('ENCRYPTED')) throw new InternalError('adoptCa needs the CA key decrypted (Vault imports only unencrypted keys)');
    await this.checkAdoptable(record);
    const cert = new X509Certificate(record.certPem);
    const notes = await this.ensureMount({ notAfter: new Date(cert.validTo) });
    const res = await this.client.write<{ imported_issuers?: string[] | null; existing_issuers?: string[] | null; mapping?: Record<string, string> | null }>(
      `${this.mount}/issuers/import/bundle`,
      { pem_bundle: `${keyPem.trim()}\n${record.certPem.trim()}\n` },
    );
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
    this.issuers.delete(record.name);
    notes.push(await this.writeRoles(record.name));
    return notes;
  }
}

function requirePem(pem: string | undefined, what: string): string {
  if (!pem || !pem.includes('-----BEGIN')) throw new InternalError(`Vault's ${what} answered without a PEM`);
  return pem;
}

function fingerprintOf(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}

function normalizePem(pem: string): string {
  return `${pem.trim()}\n`;
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
