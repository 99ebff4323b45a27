import { resolve } from 'node:path';
import * as z from 'zod/mini';
import { parseSection, type ResolvedConfig } from '../core/config/load';
import { ConfigError } from '../core/errors';
import { parseDuration } from '../core/duration';
import { CA_NAME_PATTERN, CA_NAME_RULE } from '../core/names';

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
  keystone: z.optional(z.strictObject({ url: z.url({ protocol: /^https?$/ }), ca_file: z.optional(nonEmpty), roles: z.record(nonEmpty, nonEmpty) })),
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
  /** Magnum's cluster UUIDs and the CA each one maps to. */
  clusters: z.optional(z.record(nonEmpty, caName)),
});

/** A role after validation. */
export interface Role {
  name: string;
  admin: boolean;
  profiles: string[];
  names: string[];
}

/** `serve:` of certctl.yaml, resolved: paths absolute, durations in seconds, roles checked. */
export interface ServeOptions {
  host: string;
  port: number;
  tls: { certPath?: string; keyPath?: string; names: string[]; ttlSeconds: number };
  roles: Map<string, Role>;
  clients: { cn?: string; ou?: string; o?: string; role: Role }[];
  keystone?: { url: string; caFile?: string; roles: Map<string, Role> };
  tokenMaxTtlSeconds: number;
  limits: { bodyBytes: number; headerTimeoutMs: number; requestTimeoutMs: number; requestsPerMinute: number };
  clusters: Map<string, string>;
  /** serve.public_http_listen: the plain-HTTP listener of /crl and /ocsp, if any. */
  publicHttp?: { host: string; port: number };
  ocsp: { responder: 'auto' | 'ca' | 'delegated'; validitySeconds: number; responderTtlSeconds: number };
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
    Object.entries(raw.roles ?? {}).map(([name, r]) => [name, { name, admin: r.admin ?? false, profiles: r.profiles ?? [], names: r.names ?? [] }]),
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
    keystone: raw.keystone && {
      url: raw.keystone.url.replace(/\/+$/, ''),
      caFile: raw.keystone.ca_file && resolve(config.baseDir, raw.keystone.ca_file),
      roles: new Map(Object.entries(raw.keystone.roles).map(([k, v]) => [k, role(v, `keystone.roles.${k}`)])),
    },
    tokenMaxTtlSeconds: seconds(raw.tokens?.max_ttl, 86400, 'tokens.max_ttl'),
    limits: {
      bodyBytes: raw.limits?.body_bytes ?? 64 * 1024,
      headerTimeoutMs: seconds(raw.limits?.header_timeout, 10, 'limits.header_timeout') * 1000,
      requestTimeoutMs: seconds(raw.limits?.request_timeout, 30, 'limits.request_timeout') * 1000,
      requestsPerMinute: raw.limits?.requests_per_minute ?? 6000,
    },
    clusters: new Map(Object.entries(raw.clusters ?? {})),
    publicHttp: raw.public_http_listen ? parseListen(raw.public_http_listen, `${where}.public_http_listen`) : undefined,
    ocsp: {
      responder: raw.ocsp?.responder ?? 'auto',
      validitySeconds: ocspValidity,
      responderTtlSeconds: responderTtl,
    },
  };
}
