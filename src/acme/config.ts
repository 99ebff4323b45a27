import { isIP } from 'node:net';
import * as z from 'zod/mini';
import { parseSection, type ResolvedConfig } from '../core/config/load';
import { ConfigError } from '../core/errors';
import { parseDuration } from '../core/duration';
import { leafProfile } from '../core/policy/profiles';
import { parseListen } from '../server/config';

const nonEmpty = z.string().check(z.minLength(1, 'expected a non-empty string'));
const duration = z.string().check(z.regex(/^\d+\s*[smhdwy]$/i, 'expected a duration like 24h or 90d'));
const port = z.number().check(z.int(), z.minimum(1), z.maximum(65535));

/** An ACME profile (meta.profiles): a certctl profile and a lifetime, chosen by an order's `profile`. */
const acmeProfileSchema = z.strictObject({
  profile: z.optional(nonEmpty),
  ttl: z.optional(duration),
  description: z.optional(nonEmpty),
});

const acmeSchema = z.strictObject({
  /** The CAs that serve ACME; none unless listed (ACME lets anyone who controls a name get a certificate). */
  cas: z.optional(z.array(nonEmpty)),
  /** Where http-01 and tls-alpn-01 validation connect, and which DNS server the VA asks (test set-ups). */
  http01_port: z.optional(port),
  tlsalpn01_port: z.optional(port),
  dns_resolver: z.optional(nonEmpty),
  validation_timeout: z.optional(duration),
  external_account_required: z.optional(z.boolean()),
  profiles: z.optional(z.record(z.string().check(z.regex(/^[a-z][a-z0-9-]{0,62}$/, 'expected a lower-case profile name')), acmeProfileSchema)),
  default_profile: z.optional(nonEmpty),
  order_lifetime: z.optional(duration),
  rate_limits: z.optional(
    z.strictObject({
      orders_per_account_per_hour: z.optional(z.number().check(z.int(), z.positive())),
      certificates_per_name_per_week: z.optional(z.number().check(z.int(), z.positive())),
    }),
  ),
  terms_of_service: z.optional(z.url()),
});

/** An ACME profile after validation: the certctl profile it issues with and the lifetime. */
export interface AcmeProfile {
  name: string;
  profile: string;
  ttlSeconds: number;
  description: string;
}

/** The `acme:` section of certctl.yaml, resolved. */
export interface AcmeOptions {
  /** The CAs whose directory is served. */
  cas: string[];
  http01Port: number;
  tlsAlpn01Port: number;
  dnsResolver?: string;
  validationTimeoutMs: number;
  externalAccountRequired: boolean;
  profiles: Map<string, AcmeProfile>;
  defaultProfile: string;
  orderLifetimeSeconds: number;
  ordersPerAccountPerHour: number;
  certificatesPerNamePerWeek: number;
  termsOfService?: string;
}

/**
 * Reads `acme:` (absent: ACME served by no CA; `cas:` turns it on; ports 80 and 443, the system resolver, one profile `default` = the server
 * profile with its default lifetime, no EAB).
 * @throws ConfigError naming `acme.<key>`, or a profile that is not a leaf profile of certctl.yaml.
 */
export function parseAcmeOptions(config: ResolvedConfig): AcmeOptions {
  const raw = parseSection(config, 'acme', acmeSchema);
  const where = `${config.path ?? 'config'}: acme`;
  if (raw.dns_resolver && isIP(parseListen(raw.dns_resolver, `${where}.dns_resolver`).host) === 0) {
    throw new ConfigError(`${where}.dns_resolver: give the DNS server as IP:PORT (e.g. 127.0.0.1:53), not a host name`);
  }
  const profiles = new Map<string, AcmeProfile>();
  for (const [name, p] of Object.entries(raw.profiles ?? { default: {} })) {
    const base = leafProfile(config.profiles, p.profile ?? 'server', `${where}.profiles.${name}.profile`);
    const ttlSeconds = p.ttl ? parseDuration(p.ttl, `${where}.profiles.${name}.ttl`) : base.defaultTtlSeconds;
    if (ttlSeconds > base.maxTtlSeconds) throw new ConfigError(`${where}.profiles.${name}.ttl: ${p.ttl} is longer than profile ${base.name}'s max_ttl`);
    profiles.set(name, {
      name,
      profile: base.name,
      ttlSeconds,
      description: p.description ?? `${base.name} certificate valid ${p.ttl ?? 'for the profile default'}`,
    });
  }
  const defaultProfile = raw.default_profile ?? (profiles.has('default') ? 'default' : [...profiles.keys()][0]);
  if (!profiles.has(defaultProfile)) throw new ConfigError(`${where}.default_profile: no ACME profile "${defaultProfile}" in acme.profiles`);
  const seconds = (text: string | undefined, fallback: number, key: string) => (text ? parseDuration(text, `${where}.${key}`) : fallback);
  return {
    cas: raw.cas ?? [],
    http01Port: raw.http01_port ?? 80,
    tlsAlpn01Port: raw.tlsalpn01_port ?? 443,
    dnsResolver: raw.dns_resolver,
    validationTimeoutMs: seconds(raw.validation_timeout, 10, 'validation_timeout') * 1000,
    externalAccountRequired: raw.external_account_required ?? false,
    profiles,
    defaultProfile,
    orderLifetimeSeconds: seconds(raw.order_lifetime, 7 * 86400, 'order_lifetime'),
    ordersPerAccountPerHour: raw.rate_limits?.orders_per_account_per_hour ?? 300,
    certificatesPerNamePerWeek: raw.rate_limits?.certificates_per_name_per_week ?? 1000,
    termsOfService: raw.terms_of_service,
  };
}
