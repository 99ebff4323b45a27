import { createHash } from 'node:crypto';
import { NotSupportedError } from '../../core/errors';
import type { LeafSpec } from '../../core/signer';
import { extKeyUsageOid, type ExtKeyUsageName, type KeyUsageName } from '../../core/x509/certificate-builder';
import { issuerName } from './pki-issuers';

/** Key usages by the names Vault takes. */
export const KEY_USAGE: Record<KeyUsageName, string> = {
  digitalSignature: 'DigitalSignature',
  contentCommitment: 'ContentCommitment',
  keyEncipherment: 'KeyEncipherment',
  dataEncipherment: 'DataEncipherment',
  keyAgreement: 'KeyAgreement',
  keyCertSign: 'CertSign',
  cRLSign: 'CRLSign',
};

/** Role flags of the named extended key usages; the others go into `ext_key_usage` or `ext_key_usage_oids`. */
const EKU_FLAGS: Partial<Record<ExtKeyUsageName, string>> = {
  serverAuth: 'server_flag',
  clientAuth: 'client_flag',
  codeSigning: 'code_signing_flag',
  emailProtection: 'email_protection_flag',
};
const EKU_NAMES: Partial<Record<ExtKeyUsageName, string>> = { OCSPSigning: 'OCSPSigning', timeStamping: 'TimeStamping' };

/**
 * What a role fixes for the certificates it signs. Vault 1.14's `sign/:role` takes the subject's
 * O, OU, C, ST and L only from the role (`organization`, `ou`, `country`, `province`, `locality`),
 * never from the request or the CSR; the CN, serialNumber and SANs come from the request.
 */
export interface RoleShape {
  ext: ExtKeyUsageName[];
  ku: KeyUsageName[];
  subject: { C?: string[]; ST?: string[]; L?: string[]; O?: string[]; OU?: string[] };
  /** Whether the role lets requests carry URI SANs and a subject serialNumber (`allowed_uri_sans`, `allowed_serial_numbers`). */
  openNames: boolean;
}

/** The name of the role of one of the six shapes `init` writes: one per CA, extended key usage set and key usage set. */
export function roleName(ca: string, extKeyUsage: ExtKeyUsageName[], keyUsage: KeyUsageName[]): string {
  const eku = extKeyUsage.includes('serverAuth') && extKeyUsage.includes('clientAuth') ? 'peer' : extKeyUsage.includes('serverAuth') ? 'server' : 'client';
  return `certctl-${ca}-${eku}-${keyUsage.includes('keyEncipherment') ? 'sig-enc' : 'sig'}`;
}

/** Every (extended key usage, key usage) pair DESIGN.md's built-in leaf profiles produce: the roles `init` writes. */
export const ROLE_SHAPES: RoleShape[] = ([['serverAuth'], ['clientAuth'], ['serverAuth', 'clientAuth']] as ExtKeyUsageName[][]).flatMap((ext) => [
  { ext, ku: ['digitalSignature'] as KeyUsageName[], subject: {}, openNames: false },
  { ext, ku: ['digitalSignature', 'keyEncipherment'] as KeyUsageName[], subject: {}, openNames: false },
]);

/**
 * The role a leaf is signed with: one of `init`'s six when the request fits one (a built-in
 * profile, no subject attribute but CN, no URI SAN, no serialNumber), else a role named after a
 * digest of its shape, which the signer writes on first use (see VaultPkiSigner.ensureRole).
 */
export function roleFor(ca: string, spec: LeafSpec): { name: string; shape: RoleShape } {
  const { serialNumber, ...subject } = spec.subject ?? {};
  const shape: RoleShape = { ext: spec.extKeyUsage, ku: spec.keyUsage, subject, openNames: !!spec.uris?.length || !!serialNumber?.length };
  const key = JSON.stringify([[...shape.ext].sort(), [...shape.ku].sort()]);
  const builtin = ROLE_SHAPES.find((r) => JSON.stringify([[...r.ext].sort(), [...r.ku].sort()]) === key);
  if (builtin && Object.keys(subject).length === 0 && !shape.openNames) return { name: roleName(ca, shape.ext, shape.ku), shape };
  const digest = createHash('sha256')
    .update(JSON.stringify(roleBody(ca, shape)))
    .digest('hex')
    .slice(0, 16);
  return { name: `certctl-${ca}-r${digest}`, shape };
}

/**
 * Refuses what Vault 1.14 cannot write as asked: it trims every value of a role's subject lists
 * (`organization`, `ou`, … are comma-string slices, trimmed on parse), so a value with leading or
 * trailing white space would come back changed.
 * @throws NotSupportedError naming the attribute and the value.
 */
export function checkExpressible(spec: LeafSpec): void {
  for (const [type, values] of Object.entries(spec.subject ?? {})) {
    const bad = type !== 'serialNumber' ? values.find((v) => v !== v.trim()) : undefined;
    if (bad !== undefined) {
      throw new NotSupportedError(
        `subject ${type} "${bad}" starts or ends with white space, which Vault's roles trim; ask for "${bad.trim()}" or sign with a local signer`,
      );
    }
  }
}

/**
 * The body of `POST <mount>/roles/<name>` for a shape. Every name restriction is off: certctl's
 * policy, checked in the core before any Vault call, stays the only policy (pki-setup.ts says why
 * leaves go through roles).
 */
export function roleBody(ca: string, shape: RoleShape): Record<string, unknown> {
  const flags: Record<string, boolean> = {};
  for (const flag of Object.values(EKU_FLAGS) as string[]) flags[flag] = shape.ext.some((u) => EKU_FLAGS[u] === flag);
  return {
    issuer_ref: issuerName(ca),
    key_type: 'any',
    key_usage: shape.ku.map((u) => KEY_USAGE[u]),
    ...flags,
    ext_key_usage: shape.ext.flatMap((u) => EKU_NAMES[u] ?? []),
    ext_key_usage_oids: shape.ext.filter((u) => !EKU_FLAGS[u] && !EKU_NAMES[u]).map((u) => extKeyUsageOid(u) ?? u),
    basic_constraints_valid_for_non_ca: true,
    not_before_duration: '60s',
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
    ...(shape.openNames ? { allowed_uri_sans: ['*'], allowed_serial_numbers: ['*'] } : {}),
    ...(shape.subject.O ? { organization: shape.subject.O } : {}),
    ...(shape.subject.OU ? { ou: shape.subject.OU } : {}),
    ...(shape.subject.C ? { country: shape.subject.C } : {}),
    ...(shape.subject.ST ? { province: shape.subject.ST } : {}),
    ...(shape.subject.L ? { locality: shape.subject.L } : {}),
  };
}
