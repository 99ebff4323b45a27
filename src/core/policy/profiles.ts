import type { BlockList } from 'node:net';
import { ipFamily } from '../ip';
import { ConfigError, InvalidInputError } from '../errors';
import { parseDuration } from '../duration';
import type { ProfileConfig } from '../config/schema';
import { KEY_TYPES, LEAF_PROFILES, type KeyType, type ProfileName } from '../types';
import type { ExtKeyUsageName, KeyUsageName } from '../x509/certificate-builder';
import { buildSubjectPolicy, type SubjectPolicy } from './subject-policy';

/** A profile after validation at load time: what the policy check and the builder need. */
export interface Profile {
  /** A built-in name (ProfileName) or a custom profile's name from certctl.yaml. */
  name: string;
  extKeyUsage: ExtKeyUsageName[];
  /** Key usages from `key_usage:`; absent: DESIGN.md's (digitalSignature, + keyEncipherment for RSA). */
  keyUsage?: KeyUsageName[];
  isCa: boolean;
  /** At least one DNS or IP SAN is required (server). */
  requiresSan: boolean;
  /** CN defaults to a new UUID (Flocker node). */
  uuidCommonName: boolean;
  /** A CN that is a host name or IP is added to the SANs (TLS clients ignore the CN). */
  commonNameInSan: boolean;
  /** The certificate carries id-pkix-ocsp-nocheck (RFC 6960 4.2.2.2.1): a delegated OCSP responder's, short-lived. */
  ocspNoCheck: boolean;
  maxTtlSeconds: number;
  defaultTtlSeconds: number;
  defaultKeyType: KeyType;
  allowedKeyTypes: readonly KeyType[];
  /** Exact names and `*.suffix` patterns; undefined allows any syntactically valid name. */
  allowedDns?: string[];
  allowedIps?: { list: BlockList; text: string[] };
  /** `*` patterns for URI SANs; undefined takes none. */
  allowedUris?: string[];
  /** `*` patterns for email SANs; undefined takes none. */
  allowedEmails?: string[];
  /** Which subject attributes besides CN a request may set, and those always written. */
  subject: SubjectPolicy;
}

/** Every profile by name: the built-ins (intermediate among them) and certctl.yaml's custom ones. */
export type Profiles = Record<ProfileName, Profile> & Record<string, Profile>;

type Shape = Pick<Profile, 'extKeyUsage' | 'isCa' | 'requiresSan' | 'uuidCommonName' | 'commonNameInSan'> & { max: number; def: number; ocspNoCheck?: boolean };

const DAY = 86400;
const BUILTIN: Record<ProfileName, Shape> = {
  // 398 days is the longest validity TLS clients accept for a server certificate.
  server: { extKeyUsage: ['serverAuth'], isCa: false, requiresSan: true, uuidCommonName: false, commonNameInSan: true, max: 398 * DAY, def: 365 * DAY },
  client: { extKeyUsage: ['clientAuth'], isCa: false, requiresSan: false, uuidCommonName: false, commonNameInSan: false, max: 398 * DAY, def: 365 * DAY },
  peer: {
    extKeyUsage: ['serverAuth', 'clientAuth'],
    isCa: false,
    requiresSan: false,
    uuidCommonName: false,
    commonNameInSan: true,
    max: 398 * DAY,
    def: 365 * DAY,
  },
  node: {
    extKeyUsage: ['serverAuth', 'clientAuth'],
    isCa: false,
    requiresSan: false,
    uuidCommonName: true,
    commonNameInSan: false,
    max: 398 * DAY,
    def: 365 * DAY,
  },
  // A delegated OCSP responder (certctl serve's, or one the operator runs): clients do not check its
  // own revocation (nocheck), so it lives briefly and is renewed often.
  ocsp: {
    extKeyUsage: ['OCSPSigning'],
    isCa: false,
    requiresSan: false,
    uuidCommonName: false,
    commonNameInSan: false,
    ocspNoCheck: true,
    max: 30 * DAY,
    def: 7 * DAY,
  },
  intermediate: { extKeyUsage: [], isCa: true, requiresSan: false, uuidCommonName: false, commonNameInSan: false, max: 10 * 365 * DAY, def: 5 * 365 * DAY },
};

/** Key usages that need an RSA key (key transport) or a key-agreement key (EC), dropped for the other kinds. */
const RSA_ONLY: readonly KeyUsageName[] = ['keyEncipherment', 'dataEncipherment'];
const EC_ONLY: readonly KeyUsageName[] = ['keyAgreement'];

/**
 * Key usage bits for a profile and key type: the profile's `key_usage`, else DESIGN.md's table
 * (digitalSignature, + keyEncipherment for RSA). A usage the key cannot perform is left out:
 * key and data encipherment need RSA, key agreement needs EC.
 */
export function keyUsageFor(profile: Profile, keyType: KeyType): KeyUsageName[] {
  if (profile.isCa) return ['keyCertSign', 'cRLSign'];
  const rsa = keyType.startsWith('rsa-');
  if (!profile.keyUsage) return rsa ? ['digitalSignature', 'keyEncipherment'] : ['digitalSignature'];
  return profile.keyUsage.filter((u) => (rsa || !RSA_ONLY.includes(u)) && (keyType.startsWith('ec-') || !EC_ONLY.includes(u)));
}

const DNS_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** True when `name` is a syntactically valid DNS name, optionally a leading `*.` wildcard. */
export function isValidDnsName(name: string, allowWildcard = true): boolean {
  if (name.length === 0 || name.length > 253) return false;
  const labels = name.toLowerCase().split('.');
  return labels.every((label, i) => (i === 0 && allowWildcard && label === '*' && labels.length > 2) || DNS_LABEL.test(label));
}

/**
 * The leaf profile `name` names: a built-in or a custom one.
 * @throws InvalidInputError naming `flag` and the profiles there are, for an unknown name or `intermediate`.
 */
export function leafProfile(profiles: Profiles, name: string, flag: string): Profile {
  const profile = Object.prototype.hasOwnProperty.call(profiles, name) ? profiles[name] : undefined;
  if (!profile || profile.isCa) {
    const names = Object.values(profiles)
      .filter((p) => !p.isCa)
      .map((p) => p.name);
    throw new InvalidInputError(
      `${flag}: unknown profile "${name}"; choose ${names.join(', ')} (intermediates: certctl init --parent; custom profiles: profiles: in certctl.yaml)`,
    );
  }
  return profile;
}

/**
 * Builds every profile from the built-in table and certctl.yaml's `profiles:` section — the
 * built-ins' policy and custom profiles, from scratch or on top of a built-in (`base:`) —
 * validating once at load time (cfssl style) so a bad policy fails before any backend call.
 * @throws ConfigError naming the path, e.g. `profiles.server.allowed_ips[1]`.
 */
export function buildProfiles(config: Record<string, ProfileConfig> | undefined): Profiles {
  const out = {} as Profiles;
  for (const name of Object.keys(BUILTIN) as ProfileName[]) out[name] = buildOne(name, BUILTIN[name], config?.[name] ?? {}, 'builtin');
  for (const [name, c] of Object.entries(config ?? {})) {
    if (name in BUILTIN) continue;
    const path = `profiles.${name}`;
    if (!c.base && !c.extended_key_usage) {
      throw new ConfigError(`${path}: a custom profile needs base: (one of ${LEAF_PROFILES.join(', ')}) or extended_key_usage:`);
    }
    const base: Shape = c.base
      ? BUILTIN[c.base]
      : { extKeyUsage: [], isCa: false, requiresSan: false, uuidCommonName: false, commonNameInSan: false, max: BUILTIN.server.max, def: BUILTIN.server.def };
    // `base:` names the built-in's shape, not the operator's policy for it: `profiles.client`'s
    // allowed_organizations must not leak into every profile built on client.
    out[name] = buildOne(name, base, c, c.base ? 'base' : 'scratch');
  }
  return out;
}

/** One profile: a built-in's `shape` (or a blank one, from scratch) under the config `c`. */
function buildOne(name: string, shape: Shape, c: ProfileConfig, kind: 'builtin' | 'base' | 'scratch'): Profile {
  const path = `profiles.${name}`;
  if (kind === 'builtin') {
    for (const key of ['base', 'extended_key_usage', 'key_usage', 'require_san'] as const) {
      if (c[key] !== undefined) throw new ConfigError(`${path}.${key}: a built-in profile keeps its own; define a custom profile with base: ${name} instead`);
    }
  }
  const maxTtl = c.max_ttl ? parseConfigDuration(c.max_ttl, `${path}.max_ttl`) : shape.max;
  const defTtl = c.default_ttl ? parseConfigDuration(c.default_ttl, `${path}.default_ttl`) : Math.min(shape.def, maxTtl);
  if (defTtl > maxTtl)
    throw new ConfigError(`${path}.default_ttl: ${c.default_ttl ?? ''} is longer than max_ttl ${c.max_ttl ?? ''}`.replace(/\s+/g, ' ').trim());
  const allowedKeyTypes = c.allowed_key_types ?? KEY_TYPES;
  const defaultKeyType = c.key_type ?? (allowedKeyTypes.includes('ec-p256') ? 'ec-p256' : allowedKeyTypes[0]);
  if (!allowedKeyTypes.includes(defaultKeyType)) {
    throw new ConfigError(`${path}.key_type: ${defaultKeyType} is not in ${path}.allowed_key_types`);
  }
  c.allowed_dns?.forEach((pattern, i) => {
    if (!isValidDnsName(pattern)) {
      throw new ConfigError(`${path}.allowed_dns[${i}]: "${pattern}" is not a DNS name or *.suffix pattern`);
    }
  });
  const extKeyUsage = (c.extended_key_usage as ExtKeyUsageName[] | undefined) ?? shape.extKeyUsage;
  if (new Set(extKeyUsage).size !== extKeyUsage.length) throw new ConfigError(`${path}.extended_key_usage: a purpose is listed twice`);
  return {
    name,
    ...shape,
    ocspNoCheck: shape.ocspNoCheck ?? false,
    extKeyUsage,
    keyUsage: c.key_usage,
    requiresSan: c.require_san ?? shape.requiresSan,
    // From scratch, a CN names a host when the certificate serves TLS.
    commonNameInSan: kind === 'scratch' ? extKeyUsage.includes('serverAuth') : shape.commonNameInSan,
    maxTtlSeconds: maxTtl,
    defaultTtlSeconds: defTtl,
    defaultKeyType,
    allowedKeyTypes,
    allowedDns: c.allowed_dns?.map((d) => d.toLowerCase()),
    allowedIps: c.allowed_ips ? { list: parseCidrs(c.allowed_ips, `${path}.allowed_ips`), text: c.allowed_ips } : undefined,
    allowedUris: c.allowed_uris,
    allowedEmails: c.allowed_emails,
    subject: buildSubjectPolicy(c, path),
  };
}

function parseConfigDuration(text: string, path: string): number {
  try {
    return parseDuration(text, path);
  } catch (err) {
    throw new ConfigError((err as Error).message, { cause: err });
  }
}

function parseCidrs(cidrs: string[], path: string): BlockList {
  const list = new (require('node:net') as typeof import('node:net')).BlockList();
  cidrs.forEach((cidr, i) => {
    const [addr, bits, extra] = cidr.split('/');
    const family = ipFamily(addr);
    const prefix = bits === undefined ? (family === 6 ? 128 : 32) : Number(bits);
    const max = family === 6 ? 128 : 32;
    if (!family || extra !== undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > max) {
      throw new ConfigError(`${path}[${i}]: "${cidr}" is not an IP range; write CIDR like 10.0.0.0/8 or fd00::/8`);
    }
    list.addSubnet(addr, prefix, family === 6 ? 'ipv6' : 'ipv4');
  });
  return list;
}
