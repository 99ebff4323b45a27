import { X509Certificate } from 'node:crypto';
import type { ResolvedConfig } from '../../core/config/load';
import { BackendAuthError, ConfigError, ConflictError, InternalError, NotFoundError, NotSupportedError } from '../../core/errors';
import { formatDuration } from '../../core/duration';
import { serialFromHex } from '../../core/serial';
import type { CaSpec, CreatedCa, LeafSpec, Signer } from '../../core/signer';
import type { CertificateRecord, KeyType } from '../../core/types';
import { createDerSigner, type ExtKeyUsageName, type KeyUsageName } from '../../core/x509/certificate-builder';
import { buildCsrDer } from '../../core/x509/csr-builder';
import type { VaultClient } from './client';

const KEY_USAGE: Record<KeyUsageName, string> = {
  digitalSignature: 'DigitalSignature',
  keyEncipherment: 'KeyEncipherment',
  keyCertSign: 'CertSign',
  cRLSign: 'CRLSign',
};
const EXT_KEY_USAGE: Record<ExtKeyUsageName, string> = { serverAuth: 'ServerAuth', clientAuth: 'ClientAuth' };

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
  return serialFromHex(serial).toString('hex').replace(/(..)(?!$)/g, '$1:');
}

/** The longest lifetime certctl asks Vault to allow on a mount it enables (10 years, as `init`'s default). */
const MOUNT_MAX_TTL_HOURS = 87600;

/**
 * Vault's PKI engine signs (DESIGN.md "Two interfaces, three backends"): the CA key is created
 * inside Vault and never leaves it. One mount holds every certctl CA as a named issuer
 * (`issuer_name` = the certctl CA name).
 *
 * Leaves are signed with `issuer/:ca/sign-verbatim`, not `sign/:role`: the core has already
 * resolved the profile and checked the request against certctl's policy, and sign-verbatim
 * takes the CSR's subject and SANs as they are plus key usage, extended key usage and not_after
 * per request, so DESIGN.md's profiles come out exactly (including no KeyEncipherment for EC
 * keys). A role would re-apply a second policy (allowed_domains, CN rules, its own key-usage
 * defaults) that could only disagree with certctl's. Hence certctl needs no Vault roles; a
 * Vault policy can still confine certctl to `issuer/<ca>/sign-verbatim`.
 */
export class VaultPkiSigner implements Signer {
  readonly kind = 'vault-pki';
  readonly assignsSerials = true;
  private readonly issuers = new Map<string, { certPem: string; notAfter: Date }>();
  private maxTtl: number | undefined | null = null;

  constructor(
    private readonly client: VaultClient,
    private readonly mount: string,
    private readonly config: ResolvedConfig,
  ) {}

  takeWarnings(): string[] {
    // Vault warns when it ignores a parameter or caps a TTL; certctl checks the TTL itself below.
    return this.client.takeWarnings().map((w) => `Vault: ${w}`);
  }

  async createCa(spec: CaSpec): Promise<CreatedCa> {
    const notes = await this.ensureMount(spec);
    if (await this.issuer(spec.name)) {
      throw new ConflictError(`Vault's ${this.mount}/ mount already has an issuer named "${spec.name}"; choose another --ca name`);
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
        issuer_name: spec.name,
        key_name: spec.name,
      });
      certPem = requirePem(res.data?.certificate, 'root/generate/internal');
      notes.push(`generated root CA "${spec.name}" inside Vault (${this.mount}/issuer/${spec.name}); its key never leaves Vault`);
    } else {
      const parent = await this.issuer(spec.parent);
      if (!parent) throw new NotFoundError(`no issuer "${spec.parent}" in Vault's ${this.mount}/ mount to sign the intermediate`);
      const csr = await this.client.write<{ csr: string }>(`${this.mount}/intermediate/generate/internal`, { common_name: spec.commonName, ...key, key_name: spec.name });
      const signed = await this.client.write<{ certificate: string; ca_chain?: string[] }>(`${this.mount}/issuer/${spec.parent}/sign-intermediate`, {
        csr: requirePem(csr.data?.csr, 'intermediate/generate/internal'),
        common_name: spec.commonName,
        max_path_length: 0,
        not_after: notAfter,
        use_csr_values: false,
      });
      certPem = requirePem(signed.data?.certificate, 'sign-intermediate');
      const imported = await this.client.write<{ imported_issuers?: string[] }>(`${this.mount}/intermediate/set-signed`, { certificate: certPem });
      const id = imported.data?.imported_issuers?.[0];
      if (!id) throw new InternalError(`Vault imported no issuer from the signed intermediate "${spec.name}"`);
      await this.client.write(`${this.mount}/issuer/${id}`, { issuer_name: spec.name }, 'PATCH');
      chainPem = [parent.certPem];
      const parentChain = (await this.client.read<{ ca_chain?: string[] }>(`${this.mount}/issuer/${spec.parent}`))?.data?.ca_chain ?? [];
      for (const pem of parentChain.map(normalizePem)) if (!chainPem.includes(pem) && pem !== normalizePem(certPem)) chainPem.push(pem);
      notes.push(`generated intermediate CA "${spec.name}" inside Vault, signed by "${spec.parent}"; its key never leaves Vault`);
    }
    this.issuers.delete(spec.name);
    return {
      record: { name: spec.name, certPem: normalizePem(certPem), chainPem, parent: spec.parent, keyType: spec.keyType, keyEncrypted: false, createdAt: new Date().toISOString() },
      notes,
    };
  }

  /**
   * Enables the PKI engine at the mount when missing and raises its max TTL so it covers the CA;
   * configures the CRL/issuer URLs from certctl.yaml. Idempotent; says what it changed.
   */
  private async ensureMount(spec: CaSpec): Promise<string[]> {
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
    this.maxTtl = null;
    const { crl, issuingCa } = this.config.urls;
    if (crl.length || issuingCa.length) {
      await this.client.write(`${this.mount}/config/urls`, { crl_distribution_points: crl, issuing_certificates: issuingCa });
      notes.push(`set ${this.mount}/config/urls from certctl.yaml's urls:`);
    }
    return notes;
  }

  private async issuer(name: string): Promise<{ certPem: string; notAfter: Date } | undefined> {
    const cached = this.issuers.get(name);
    if (cached) return cached;
    const res = await this.client.read<{ certificate?: string }>(`${this.mount}/issuer/${name}`).catch((err) => {
      // Vault 1.14 answers a missing issuer reference with 500 "unable to find PKI issuer"; a
      // missing mount with 404/400. Both mean "no such CA" to certctl.
      if (/unable to find PKI issuer|no handler|No secret engine mount|not found/i.test((err as Error).message)) return undefined;
      throw err;
    });
    const pem = res?.data?.certificate;
    if (!pem) return undefined;
    const found = { certPem: normalizePem(pem), notAfter: new Date(new X509Certificate(pem).validTo) };
    this.issuers.set(name, found);
    return found;
  }

  /** The mount's max lease TTL in seconds, or undefined when the token may not read it. */
  private async mountMaxTtl(): Promise<number | undefined> {
    if (this.maxTtl === null) {
      const tune = await this.client.read<{ max_lease_ttl?: number }>(`sys/mounts/${this.mount}/tune`).catch((err) => {
        if (err instanceof BackendAuthError) return undefined; // a confined policy; the post-check still guards
        throw err;
      });
      this.maxTtl = tune?.data?.max_lease_ttl;
    }
    return this.maxTtl;
  }

  async sign(ca: string, specs: LeafSpec[]): Promise<Buffer[]> {
    if (!(await this.issuer(ca))) throw new NotFoundError(`no issuer "${ca}" in Vault's ${this.mount}/ mount; create it with \`certctl --backend vault init\``);
    // Vault would silently shorten a lifetime beyond the mount's max TTL: refuse before signing.
    const maxTtl = await this.mountMaxTtl();
    const longest = Math.max(...specs.map((s) => s.notAfter.getTime()));
    if (maxTtl !== undefined && longest > Date.now() + maxTtl * 1000 + 60_000) {
      throw new ConfigError(
        `Vault's ${this.mount}/ mount allows certificates of at most ${formatDuration(maxTtl)} (its max_lease_ttl), shorter than the lifetime asked for; raise it with \`vault secrets tune -max-lease-ttl=87600h ${this.mount}\` or ask for a shorter --ttl`,
      );
    }
    const out: Buffer[] = [];
    for (const spec of specs) {
      if (spec.basicConstraints.ca) throw new NotSupportedError('Vault signs CA certificates only through `certctl init --parent`');
      const res = await this.client.write<{ certificate: string }>(`${this.mount}/issuer/${ca}/sign-verbatim`, {
        csr: toCsrPem(spec),
        key_usage: spec.keyUsage.map((u) => KEY_USAGE[u]),
        ext_key_usage: spec.extKeyUsage.map((u) => EXT_KEY_USAGE[u]),
        not_after: spec.notAfter.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      });
      const pem = requirePem(res.data?.certificate, 'sign-verbatim');
      const cert = new X509Certificate(pem);
      // Vault silently caps a lifetime at the mount's max TTL; certctl says so instead.
      if (Math.abs(new Date(cert.validTo).getTime() - spec.notAfter.getTime()) > 120_000) {
        this.client.takeWarnings();
        throw new InternalError(
          `Vault issued ${cert.serialNumber} until ${new Date(cert.validTo).toISOString()}, not ${spec.notAfter.toISOString()} as asked; raise the mount's max TTL (\`vault secrets tune -max-lease-ttl=87600h ${this.mount}\`) and revoke that certificate`,
        );
      }
      out.push(cert.raw);
    }
    return out;
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
    const pem = await this.client.readText(`${this.mount}/issuer/${ca}/crl/pem`);
    if (!pem || !pem.includes('BEGIN X509 CRL')) throw new InternalError(`Vault returned no CRL for issuer "${ca}"`);
    return normalizePem(pem);
  }

  /** Every serial the mount has signed (LIST pki/certs), canonical upper-case hex. */
  async issuedSerials(): Promise<Set<string>> {
    const keys = await this.client.list(`${this.mount}/certs`);
    return new Set(keys.map((k) => k.replace(/[:-]/g, '').toUpperCase()));
  }

  async revoke(_ca: string, serial: string): Promise<void> {
    try {
      await this.client.write(`${this.mount}/revoke`, { serial_number: vaultSerial(serial) });
    } catch (err) {
      // Revoking twice is not an error for certctl's purposes (the CRL lists it either way).
      if (/already (been )?revoked/i.test((err as Error).message)) return;
      throw err;
    }
  }
}

function requirePem(pem: string | undefined, what: string): string {
  if (!pem || !pem.includes('-----BEGIN')) throw new InternalError(`Vault's ${what} answered without a PEM`);
  return pem;
}

function normalizePem(pem: string): string {
  return `${pem.trim()}\n`;
}

function toCsrPem(spec: LeafSpec): string {
  let der = spec.csrDer;
  if (!der) {
    if (!spec.subjectKey) throw new InternalError('a certificate for Vault needs either a CSR or the subject key');
    der = buildCsrDer({ commonName: spec.commonName, dnsNames: spec.dnsNames, ipAddresses: spec.ipAddresses, spkiDer: spec.spkiDer }, createDerSigner(spec.subjectKey()));
  }
  const b64 = der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return `-----BEGIN CERTIFICATE REQUEST-----\n${b64}\n-----END CERTIFICATE REQUEST-----\n`;
}

/** Serials a CRL lists, canonical upper-case hex without leading zeros. */
function crlSerials(pem: string): string[] {
  const x509 = require('@peculiar/x509') as typeof import('@peculiar/x509');
  return new x509.X509Crl(pem).entries.map((e) => e.serialNumber.toUpperCase().replace(/^0+/, ''));
}

