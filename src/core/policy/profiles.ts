import { BlockList, isIP } from 'node:net';
import { ConfigError } from '../errors';
import { parseDuration } from '../duration';
import type { ProfileConfig } from '../config/schema';
import { KEY_TYPES, type KeyType, type ProfileName } from '../types';
import type { ExtKeyUsageName, KeyUsageName } from '../x509/certificate-builder';

/** A profile after validation at load time: what the policy check and the builder need. */
export interface Profile {
  name: ProfileName;
  extKeyUsage: ExtKeyUsageName[];
  isCa: boolean;
  /** At least one DNS or IP SAN is required (server). */
  requiresSan: boolean;
  /** CN defaults to a new UUID (Flocker node). */
  uuidCommonName: boolean;
  /** A CN that is a host name or IP is added to the SANs (TLS clients ignore the CN). */
  commonNameInSan: boolean;
  maxTtlSeconds: number;
  defaultTtlSeconds: number;
  defaultKeyType: KeyType;
  allowedKeyTypes: readonly KeyType[];
  /** Exact names and `*.suffix` patterns; undefined allows any syntactically valid name. */
  allowedDns?: string[];
  allowedIps?: { list: BlockList; text: string[] };
}

const DAY = 86400;
const BUILTIN: Record<
  ProfileName,
  Pick<Profile, 'extKeyUsage' | 'isCa' | 'requiresSan' | 'uuidCommonName' | 'commonNameInSan'> & { max: number; def: number }
> = {
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
  intermediate: { extKeyUsage: [], isCa: true, requiresSan: false, uuidCommonName: false, commonNameInSan: false, max: 10 * 365 * DAY, def: 5 * 365 * DAY },
};

/** Key usage bits for a profile and key type (DESIGN.md table). */
export function keyUsageFor(profile: Profile, keyType: KeyType): KeyUsageName[] {
  if (profile.isCa) return ['keyCertSign', 'cRLSign'];
  return keyType.startsWith('rsa-') ? ['digitalSignature', 'keyEncipherment'] : ['digitalSignature'];
}

const DNS_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** True when `name` is a syntactically valid DNS name, optionally a leading `*.` wildcard. */
export function isValidDnsName(name: string, allowWildcard = true): boolean {
  if (name.length === 0 || name.length > 253) return false;
  const labels = name.toLowerCase().split('.');
  return labels.every((label, i) => (i === 0 && allowWildcard && label === '*' && labels.length > 2) || DNS_LABEL.test(label));
}

/**
 * Builds every profile from the built-in table and certctl.yaml's `profiles:` section,
 * validating once at load time (cfssl style) so a bad policy fails before any backend call.
 * @throws ConfigError naming the path, e.g. `profiles.server.allowed_ips[1]`.
 */
export function buildProfiles(config: Partial<Record<ProfileName, ProfileConfig>> | undefined): Record<ProfileName, Profile> {
  const out = {} as Record<ProfileName, Profile>;
  for (const name of Object.keys(BUILTIN) as ProfileName[]) {
    const base = BUILTIN[name];
    const c = config?.[name] ?? {};
    const path = `profiles.${name}`;
    const maxTtl = c.max_ttl ? parseConfigDuration(c.max_ttl, `${path}.max_ttl`) : base.max;
    const defTtl = c.default_ttl ? parseConfigDuration(c.default_ttl, `${path}.default_ttl`) : Math.min(base.def, maxTtl);
    if (defTtl > maxTtl) throw new ConfigError(`${path}.default_ttl: ${c.default_ttl} is longer than max_ttl ${c.max_ttl ?? ''}`.trim());
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
    out[name] = {
      name,
      ...base,
      maxTtlSeconds: maxTtl,
      defaultTtlSeconds: defTtl,
      defaultKeyType,
      allowedKeyTypes,
      allowedDns: c.allowed_dns?.map((d) => d.toLowerCase()),
      allowedIps: c.allowed_ips ? { list: parseCidrs(c.allowed_ips, `${path}.allowed_ips`), text: c.allowed_ips } : undefined,
    };
  }
  return out;
}

function parseConfigDuration(text: string, path: string): number {
  try {
    return parseDuration(text, path);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
}

function parseCidrs(cidrs: string[], path: string): BlockList {
  const list = new BlockList();
  cidrs.forEach((cidr, i) => {
    const [addr, bits, extra] = cidr.split('/');
    const family = isIP(addr);
    const prefix = bits === undefined ? (family === 6 ? 128 : 32) : Number(bits);
    const max = family === 6 ? 128 : 32;
    if (!family || extra !== undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > max) {
      throw new ConfigError(`${path}[${i}]: "${cidr}" is not an IP range; write CIDR like 10.0.0.0/8 or fd00::/8`);
    }
    list.addSubnet(addr, prefix, family === 6 ? 'ipv6' : 'ipv4');
  });
  return list;
}
