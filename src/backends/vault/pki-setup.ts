import { urlsOfCa, type ResolvedConfig } from '../../core/config/load';
import { ConflictError, InternalError, NotFoundError, NotSupportedError } from '../../core/errors';
import type { CaSpec, CreatedCa } from '../../core/signer';
import type { KeyType } from '../../core/types';
import type { VaultClient } from './client';
import { ROLE_SHAPES, roleBody, roleName } from './pki-roles';
import { issuerName, normalizePem, requirePem, vaultTime, type PkiIssuers } from './pki-issuers';

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

/**
 * Vault 1.14's sign-intermediate (and root/generate) take only `permitted_dns_domains`, written as a
 * critical NameConstraints extension; it ignores `excluded_dns_domains` and IP ranges with no more
 * than a warning ("Endpoint ignored these unrecognized parameters"), so they are refused up front.
 * @throws NotSupportedError naming the flags and values Vault cannot write.
 */
function refuseInexpressibleConstraints(spec: CaSpec): void {
  const nc = spec.nameConstraints;
  if (!nc) return;
  const cannot = [
    ...nc.excludedDns.map((d) => `--exclude-dns ${d}`),
    ...nc.permittedIps.map((ip) => `--permit-ip ${ip}`),
    ...nc.excludedIps.map((ip) => `--exclude-ip ${ip}`),
  ];
  if (cannot.length) {
    throw new NotSupportedError(
      `the Vault PKI signer cannot write ${cannot.join(', ')}: Vault's sign-intermediate takes permitted DNS domains only (--permit-dns); nothing was created`,
    );
  }
}

/** The longest lifetime certctl asks Vault to allow on a mount it enables (10 years, as `init`'s default). */
const MOUNT_MAX_TTL_HOURS = 87600;

/** One entry of `GET sys/mounts`. */
interface MountEntry {
  type?: string;
  config?: { max_lease_ttl?: number };
}

/**
 * What `init` and `migrate --import-ca-key` set up in Vault: the PKI mount (enabled, tuned, its
 * URLs), the CA's issuer (a root or an intermediate generated inside Vault) and the roles that
 * sign its leaves.
 *
 * Leaves are signed with `sign/:role`, not `sign-verbatim`: measured on Vault 1.14,
 * sign-verbatim never writes BasicConstraints on a leaf (it drops one asked for in the CSR),
 * backdates notBefore by a fixed 30 s, and copies other CSR extensions and a CSR's own key
 * usages over the request's. A role can do what DESIGN.md's profiles need — critical
 * BasicConstraints CA:FALSE (`basic_constraints_valid_for_non_ca`), a 60 s backdate, exactly
 * the profile's key usage and extended key usage — and takes the subject CN and SANs from the
 * request, which certctl fills from its own checked names. So `init` writes one role per
 * (CA, extended key usage, key usage) of the built-in profiles with every name restriction off:
 * certctl's policy, checked in the core before any Vault call, stays the only policy. Other shapes
 * (custom profiles, subject attributes) get their role on demand (pki-roles.ts, VaultPkiSigner).
 */
export class PkiSetup {
  constructor(
    private readonly client: VaultClient,
    private readonly mount: string,
    private readonly config: ResolvedConfig,
    private readonly issuers: PkiIssuers,
  ) {}

  /**
   * Creates the CA inside Vault: a root, or an intermediate signed by `spec.parent`; then its roles.
   * @throws ConflictError when the mount has an issuer of that name; NotFoundError when the parent has none;
   *   NotSupportedError, before any Vault call, for name constraints Vault cannot write.
   */
  async createCa(spec: CaSpec): Promise<CreatedCa> {
    refuseInexpressibleConstraints(spec);
    const notes = await this.ensureMount(spec);
    if (await this.issuers.find(spec.name)) {
      throw new ConflictError(`Vault's ${this.mount}/ mount already has an issuer named "${issuerName(spec.name)}"; choose another --ca name`);
    }
    const made = spec.parent ? await this.generateIntermediate(spec, spec.parent) : await this.generateRoot(spec);
    notes.push(made.note);
    this.issuers.forget(spec.name);
    notes.push(await this.writeRoles(spec.name));
    return {
      record: {
        name: spec.name,
        certPem: normalizePem(made.certPem),
        chainPem: made.chainPem,
        parent: spec.parent,
        keyType: spec.keyType,
        keyEncrypted: false,
        createdAt: new Date().toISOString(),
      },
      notes,
    };
  }

  private async generateRoot(spec: CaSpec): Promise<{ certPem: string; chainPem: string[]; note: string }> {
    const res = await this.client.write<{ certificate: string }>(`${this.mount}/root/generate/internal`, {
      common_name: spec.commonName,
      ...vaultKey(spec.keyType),
      not_after: vaultTime(spec.notAfter),
      issuer_name: issuerName(spec.name),
      key_name: issuerName(spec.name),
    });
    const certPem = requirePem(res.data?.certificate, 'root/generate/internal');
    return {
      certPem,
      chainPem: [],
      note: `generated root CA "${spec.name}" inside Vault (${this.mount}/issuer/${issuerName(spec.name)}); its key never leaves Vault`,
    };
  }

  private async generateIntermediate(spec: CaSpec, parentName: string): Promise<{ certPem: string; chainPem: string[]; note: string }> {
    const parent = await this.issuers.find(parentName);
    if (!parent) throw new NotFoundError(`no issuer "${parentName}" in Vault's ${this.mount}/ mount to sign the intermediate`);
    const csr = await this.client.write<{ csr: string }>(`${this.mount}/intermediate/generate/internal`, {
      common_name: spec.commonName,
      ...vaultKey(spec.keyType),
      key_name: issuerName(spec.name),
    });
    const signed = await this.client.write<{ certificate: string }>(`${this.mount}/issuer/${issuerName(parentName)}/sign-intermediate`, {
      csr: requirePem(csr.data?.csr, 'intermediate/generate/internal'),
      common_name: spec.commonName,
      max_path_length: 0,
      not_after: vaultTime(spec.notAfter),
      use_csr_values: false,
      ...(spec.nameConstraints?.permittedDns.length ? { permitted_dns_domains: spec.nameConstraints.permittedDns } : {}),
    });
    const certPem = requirePem(signed.data?.certificate, 'sign-intermediate');
    const imported = await this.client.write<{ imported_issuers?: string[] }>(`${this.mount}/intermediate/set-signed`, { certificate: certPem });
    const id = imported.data?.imported_issuers?.[0];
    if (!id) throw new InternalError(`Vault imported no issuer from the signed intermediate "${spec.name}"`);
    await this.client.write(`${this.mount}/issuer/${id}`, { issuer_name: issuerName(spec.name) }, 'PATCH');
    const chainPem = [parent.certPem];
    for (const pem of parent.caChain) if (!chainPem.includes(pem) && pem !== normalizePem(certPem)) chainPem.push(pem);
    return { certPem, chainPem, note: `generated intermediate CA "${spec.name}" inside Vault, signed by "${parentName}"; its key never leaves Vault` };
  }

  /**
   * Enables the PKI engine at the mount when missing and raises its max TTL so it covers the CA;
   * configures the CRL/issuer/OCSP URLs from certctl.yaml (`{ca}`: this CA's name; the mount's, so the
   * last CA set up names them). Idempotent; says what it changed.
   * Whether the mount exists comes from `GET sys/mounts` (needs `read` on `sys/mounts`): Vault
   * 1.14 answers `GET sys/mounts/<path>` for a missing mount with a 400 that only its wording
   * tells apart from other refusals.
   * @throws NotSupportedError when the path holds another kind of engine.
   */
  async ensureMount(spec: Pick<CaSpec, 'notAfter' | 'name'>): Promise<string[]> {
    const notes: string[] = [];
    const hoursNeeded = Math.ceil((spec.notAfter.getTime() - Date.now()) / 3600000);
    const wanted = Math.max(MOUNT_MAX_TTL_HOURS, hoursNeeded);
    const mounts = await this.client.read<Record<string, MountEntry>>('sys/mounts');
    const mount = mounts?.data?.[`${this.mount}/`];
    if (!mount?.type) {
      await this.client.write(`sys/mounts/${this.mount}`, { type: 'pki', description: 'certctl', config: { max_lease_ttl: `${wanted}h` } });
      notes.push(`enabled the PKI secrets engine at ${this.mount}/ (max lease TTL ${wanted}h)`);
    } else if (mount.type !== 'pki') {
      throw new NotSupportedError(`Vault's ${this.mount}/ mount is a ${mount.type} engine, not pki; set vault.pki_mount to a PKI mount or a free path`);
    } else {
      // 0 is "the system default" (768h unless the server says otherwise): raised like any short one.
      const maxSeconds = mount.config?.max_lease_ttl ?? 0;
      if (maxSeconds < hoursNeeded * 3600) {
        await this.client.write(`sys/mounts/${this.mount}/tune`, { max_lease_ttl: `${wanted}h` });
        notes.push(`raised the max lease TTL of ${this.mount}/ to ${wanted}h so it covers the CA's lifetime`);
      } else {
        notes.push(`using the existing PKI mount ${this.mount}/`);
      }
    }
    const { crl, issuingCa, ocsp } = urlsOfCa(this.config.urls, spec.name);
    if (crl.length || issuingCa.length || ocsp.length) {
      await this.client.write(`${this.mount}/config/urls`, { crl_distribution_points: crl, issuing_certificates: issuingCa, ocsp_servers: ocsp });
      notes.push(`set ${this.mount}/config/urls from certctl.yaml's urls:`);
    }
    return notes;
  }

  /** Writes (or rewrites: idempotent) the CA's roles of the built-in profiles; returns a note for the operator. */
  async writeRoles(ca: string): Promise<string> {
    for (const shape of ROLE_SHAPES) await this.client.write(`${this.mount}/roles/${roleName(ca, shape.ext, shape.ku)}`, roleBody(ca, shape));
    return `wrote the roles certctl signs ${ca}'s leaves with: ${ROLE_SHAPES.map((r) => roleName(ca, r.ext, r.ku)).join(', ')}`;
  }
}
