import { resolve } from 'node:path';
import * as z from 'zod/mini';
import { parseSection, type ResolvedConfig } from '../core/config/load';
import { ConfigError } from '../core/errors';
import { parseDuration } from '../core/duration';
import { CA_NAME_PATTERN, CA_NAME_RULE } from '../core/names';
import { secretSource } from '../core/secrets';

const nonEmpty = z.string().check(z.minLength(1, 'expected a non-empty string'));
const duration = z.string().check(z.regex(/^\d+\s*[smhdwy]$/i, 'expected a duration like 30s, 15m or 24h'));
const caName = z.string().check(z.regex(CA_NAME_PATTERN, `expected a CA name of ${CA_NAME_RULE}`));

/** What a role may do: sign for some profiles and names, or everything (admin). */
const roleSchema = z.strictObject({
  /** Admins sign any profile and name the CA's policy allows, revoke anything and read the inventory. */
  admin: z.optional(z.boolean()),
  /** Profiles this role may sign for. */
  profiles: z.optional(z.array(nonEmpty)),
  /** Name patterns (`*.nodes.example`, `10.0.0.*`) every CN and SAN of a request must match. */
  names: z.optional(z.array(nonEmpty)),
  /** The CAs this role acts on (default: the server's CA, `ca:` of certctl.yaml, only). */
  cas: z.optional(z.array(nonEmpty)),
});

/** Which mTLS client certificates hold a role: every given field must match (`*` globs). */
const clientSchema = z.strictObject({ cn: z.optional(nonEmpty), ou: z.optional(nonEmpty), o: z.optional(nonEmpty), role: nonEmpty });

const serveSchema = z.strictObject({
  listen: z.optional(nonEmpty),
  tls: z.optional(
    z.strictObject({
      cert: z.optional(nonEmpty),
      key: z.optional(nonEmpty),
      /** Extra DNS names or IPs for the certificate the server issues itself. */
      names: z.optional(z.array(nonEmpty)),
      ttl: z.optional(duration),
    }),
  ),
  roles: z.optional(z.record(nonEmpty, roleSchema)),
  clients: z.optional(z.array(clientSchema)),
  keystone: z.optional(
    z.strictObject({
      url: z.url({ protocol: /^https?$/ }),
      ca_file: z.optional(nonEmpty),
      /** Keystone role name → certctl role (serve.roles), for the roles a token holds in its project. */
      roles: z.record(nonEmpty, nonEmpty),
      /** certctl's own service user, which validates callers' tokens (needs the service or admin role). */
      username: nonEmpty,
      /** The service user's password, first line of the file; else CERTCTL_KEYSTONE_PASSWORD. */
      password_file: z.optional(nonEmpty),
      project: z.optional(nonEmpty),
      project_id: z.optional(nonEmpty),
      user_domain: z.optional(nonEmpty),
      project_domain: z.optional(nonEmpty),
      timeout: z.optional(duration),
      /** How long a validated token is trusted without asking Keystone again (at most 60s, and never past its expiry). */
      cache_ttl: z.optional(duration),
    }),
  ),
  tokens: z.optional(z.strictObject({ max_ttl: z.optional(duration) })),
  limits: z.optional(
    z.strictObject({
      body_bytes: z.optional(z.number().check(z.int(), z.positive())),
      header_timeout: z.optional(duration),
      request_timeout: z.optional(duration),
      requests_per_minute: z.optional(z.number().check(z.int(), z.positive())),
    }),
  ),
  /** A plain-HTTP listener (HOST:PORT) serving /crl and /ocsp only: OCSP and CRL clients (nginx) fetch over HTTP; the answers are signed. */
  public_http_listen: z.optional(nonEmpty),
  ocsp: z.optional(
    z.strictObject({
      /** Who signs OCSP answers: the CA key, a delegated responder certificate the server issues itself, or (auto) the CA key when the signer lends it. */
      responder: z.optional(z.enum(['auto', 'ca', 'delegated'])),
      /** How long an answer is valid (nextUpdate − thisUpdate). */
      validity: z.optional(duration),
      /** Lifetime of the delegated responder certificate (renewed two thirds in). */
      responder_ttl: z.optional(duration),
    }),
  ),
  /** Magnum's certificate API: the profile its CSRs are signed with unless a cluster names its own. */
  magnum: z.optional(z.strictObject({ profile: z.optional(nonEmpty) })),
  /** Magnum's cluster UUIDs and the CA each one maps to (or its CAs per Magnum ca_cert_type, profile, project, name). */
  clusters: z.optional(
    z.record(
      nonEmpty,
      z.union([
        caName,
        z.strictObject({
          ca: caName,
          etcd_ca: z.optional(caName),
          front_proxy_ca: z.optional(caName),
          profile: z.optional(nonEmpty),
          /** The Keystone project (id) that owns the cluster: tokens of other projects are refused unless admin. */
          project: z.optional(nonEmpty),
          name: z.optional(nonEmpty),
        }),
      ]),
    ),
  ),
});

/** A role after validation. */
export interface Role {
  name: string;
  admin: boolean;
  profiles: string[];
  names: string[];
  /** The CAs it acts on. */
  cas: string[];
}

/** `serve:` of certctl.yaml, resolved: paths absolute, durations in seconds, roles checked. */
export interface ServeOptions {
  host: string;
  port: number;
  tls: { certPath?: string; keyPath?: string; names: string[]; ttlSeconds: number };
  roles: Map<string, Role>;
  clients: { cn?: string; ou?: string; o?: string; role: Role }[];
  keystone?: KeystoneOptions;
  tokenMaxTtlSeconds: number;
  limits: { bodyBytes: number; headerTimeoutMs: number; requestTimeoutMs: number; requestsPerMinute: number };
  /** Magnum clusters by UUID. */
  clusters: Map<string, MagnumCluster>;
  /** The profile of Magnum CSRs for clusters that name none (default client). */
  magnumProfile: string;
  /** serve.public_http_listen: the plain-HTTP listener of /crl and /ocsp, if any. */
  publicHttp?: { host: string; port: number };
  ocsp: { responder: 'auto' | 'ca' | 'delegated'; validitySeconds: number; responderTtlSeconds: number };
}

/** `serve.keystone`, resolved: how certctl validates callers' Keystone tokens with its own service credentials. */
export interface KeystoneOptions {
  /** Keystone's v3 URL, without a trailing slash. */
  url: string;
  caFile?: string;
  roles: Map<string, Role>;
  username: string;
  /** The service user's password: a function, so the options can be logged or inspected without it. */
  password: () => string;
  project: { name: string; domain: string } | { id: string };
  userDomain: string;
  timeoutMs: number;
  cacheTtlSeconds: number;
}

/** A Magnum cluster of `serve.clusters`: its CA per Magnum `ca_cert_type`, the profile of its CSRs, its project. */
export interface MagnumCluster {
  uuid: string;
  name?: string;
  cas: { kubernetes: string; etcd?: string; front_proxy?: string };
  profile?: string;
  project?: string;
}

/** Splits `host:port` (`[::1]:8443` for IPv6). */
export function parseListen(text: string, what: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port < 0 || port > 65535) throw new ConfigError(`${what}: expected HOST:PORT like 127.0.0.1:8443, not "${text}"`);
  return { host: m[1] ?? m[2], port };
}

/**
 * Reads `serve:` (an absent section gives the defaults: 127.0.0.1:8443, a certificate issued by the
 * CA, no roles, so only enrollment tokens and the public endpoints work).
 * @throws ConfigError naming `serve.<key>` for a bad value or a client mapped to an unknown role.
 */
export function parseServeOptions(config: ResolvedConfig, listenFlag?: string): ServeOptions {
  const raw = parseSection(config, 'serve', serveSchema);
  const where = `${config.path ?? 'config'}: serve`;
  const { host, port } = parseListen(listenFlag ?? raw.listen ?? '127.0.0.1:8443', listenFlag ? '--listen' : `${where}.listen`);
  const roles = new Map<string, Role>(
    Object.entries(raw.roles ?? {}).map(([name, r]) => [
      name,
      { name, admin: r.admin ?? false, profiles: r.profiles ?? [], names: r.names ?? [], cas: r.cas ?? [config.ca] },
    ]),
  );
  const role = (name: string, path: string): Role => {
    const found = roles.get(name);
    if (!found) throw new ConfigError(`${where}.${path}: no role "${name}" in serve.roles (${[...roles.keys()].join(', ') || 'none defined'})`);
    return found;
  };
  if (raw.tls && Boolean(raw.tls.cert) !== Boolean(raw.tls.key)) {
    throw new ConfigError(`${where}.tls: give both cert and key, or neither (the server then issues its own certificate from the CA)`);
  }
  const seconds = (text: string | undefined, fallback: number, path: string) => (text ? parseDuration(text, `${where}.${path}`) : fallback);
  const ocspValidity = seconds(raw.ocsp?.validity, 3600, 'ocsp.validity');
  const responderTtl = seconds(raw.ocsp?.responder_ttl, 86400, 'ocsp.responder_ttl');
  // Renewed two thirds in, the certificate must still outlive an answer signed just before.
  if (responderTtl < 3 * ocspValidity) {
    throw new ConfigError(
      `${where}.ocsp.responder_ttl: must be at least three times ocsp.validity (${raw.ocsp?.validity ?? '1h'}), so every answer expires before the certificate that signed it`,
    );
  }
  const profile = (name: string, path: string): string => {
    if (Object.prototype.hasOwnProperty.call(config.profiles, name) && !config.profiles[name].isCa) return name;
    const leaves = Object.values(config.profiles).filter((p) => !p.isCa);
    throw new ConfigError(`${where}.${path}: no profile "${name}" (${leaves.map((p) => p.name).join(', ')}; custom ones under profiles:)`);
  };
  return {
    host,
    port,
    tls: {
      certPath: raw.tls?.cert && resolve(config.baseDir, raw.tls.cert),
      keyPath: raw.tls?.key && resolve(config.baseDir, raw.tls.key),
      names: raw.tls?.names ?? [],
      ttlSeconds: seconds(raw.tls?.ttl, 30 * 86400, 'tls.ttl'),
    },
    roles,
    clients: (raw.clients ?? []).map((c, i) => ({ cn: c.cn, ou: c.ou, o: c.o, role: role(c.role, `clients.${i}.role`) })),
    keystone: raw.keystone && keystoneOptions(config, raw.keystone, role, where),
    tokenMaxTtlSeconds: seconds(raw.tokens?.max_ttl, 86400, 'tokens.max_ttl'),
    limits: {
      bodyBytes: raw.limits?.body_bytes ?? 64 * 1024,
      headerTimeoutMs: seconds(raw.limits?.header_timeout, 10, 'limits.header_timeout') * 1000,
      requestTimeoutMs: seconds(raw.limits?.request_timeout, 30, 'limits.request_timeout') * 1000,
      requestsPerMinute: raw.limits?.requests_per_minute ?? 6000,
    },
    clusters: magnumClusters(raw.clusters ?? {}, profile),
    magnumProfile: raw.magnum?.profile ? profile(raw.magnum.profile, 'magnum.profile') : 'client',
    publicHttp: raw.public_http_listen ? parseListen(raw.public_http_listen, `${where}.public_http_listen`) : undefined,
    ocsp: {
      responder: raw.ocsp?.responder ?? 'auto',
      validitySeconds: ocspValidity,
      responderTtlSeconds: responderTtl,
    },
  };
}

/** `serve.clusters` resolved: the short form (a CA name) is a cluster with only its kubernetes CA. */
function magnumClusters(
  raw: NonNullable<z.infer<typeof serveSchema>['clusters']>,
  profile: (name: string, path: string) => string,
): Map<string, MagnumCluster> {
  const clusters = new Map<string, MagnumCluster>();
  for (const [uuid, c] of Object.entries(raw)) {
    if (typeof c === 'string') clusters.set(uuid, { uuid, cas: { kubernetes: c } });
    else {
      const cas = { kubernetes: c.ca, etcd: c.etcd_ca, front_proxy: c.front_proxy_ca };
      clusters.set(uuid, { uuid, name: c.name, cas, profile: c.profile && profile(c.profile, `clusters.${uuid}.profile`), project: c.project });
    }
  }
  return clusters;
}

/**
 * `serve.keystone` resolved; the password is read now, so a missing one stops the start (or the SIGHUP reload).
 * @throws ConfigError naming the key; InvalidInputError for an unreadable password file.
 */
function keystoneOptions(
  config: ResolvedConfig,
  k: NonNullable<z.infer<typeof serveSchema>['keystone']>,
  role: (name: string, path: string) => Role,
  where: string,
): KeystoneOptions {
  const file = k.password_file && resolve(config.baseDir, k.password_file);
  const secret = secretSource(file, `${where}.keystone.password_file`, 'CERTCTL_KEYSTONE_PASSWORD', config.env);
  const password = secret.get();
  if (!password)
    throw new ConfigError(`${where}.keystone: no password for ${k.username}; set password_file or CERTCTL_KEYSTONE_PASSWORD (never in certctl.yaml itself)`);
  if (!k.project && !k.project_id)
    throw new ConfigError(`${where}.keystone.project: the service user's project (name, or project_id) is needed to scope its token`);
  // 0s turns the cache off (every request asks Keystone); parseDuration takes only positive durations.
  const cacheTtl = !k.cache_ttl ? 60 : /^\s*0+\s*[a-z]\s*$/i.test(k.cache_ttl) ? 0 : parseDuration(k.cache_ttl, `${where}.keystone.cache_ttl`);
  if (cacheTtl > 60) throw new ConfigError(`${where}.keystone.cache_ttl: at most 60s, so a revoked token stops working within a minute`);
  return {
    url: k.url.replace(/\/+$/, ''),
    caFile: k.ca_file && resolve(config.baseDir, k.ca_file),
    roles: new Map(Object.entries(k.roles).map(([name, v]) => [name, role(v, `keystone.roles.${name}`)])),
    username: k.username,
    password: () => password,
    project: k.project_id ? { id: k.project_id } : { name: k.project!, domain: k.project_domain ?? 'Default' },
    userDomain: k.user_domain ?? 'Default',
    timeoutMs: (k.timeout ? parseDuration(k.timeout, `${where}.keystone.timeout`) : 10) * 1000,
    cacheTtlSeconds: cacheTtl,
  };
}
