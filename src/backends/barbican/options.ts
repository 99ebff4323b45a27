import { isAbsolute, resolve } from 'node:path';
import * as z from 'zod/mini';
import { parseSection, type ResolvedConfig } from '../../core/config/load';
import { parseDuration } from '../../core/duration';
import { ConfigError } from '../../core/errors';
import { CA_NAME_PATTERN, CA_NAME_RULE } from '../../core/names';
import { readSecretFile } from '../../core/secrets';

const text = z.string().check(z.minLength(1, 'expected a non-empty string'));
const url = z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' });

const optionsSchema = z.strictObject({
  endpoint: z.optional(url),
  ca_file: z.optional(text),
  timeout: z.optional(z.string().check(z.regex(/^\d+\s*[smh]$/i, 'expected a duration like 30s or 2m'))),
  interface: z.optional(z.enum(['public', 'internal', 'admin'])),
  region_name: z.optional(text),
  name_prefix: z.optional(z.string().check(z.regex(CA_NAME_PATTERN, `expected ${CA_NAME_RULE}`))),
  auth: z.optional(
    z.strictObject({
      method: z.optional(z.enum(['password', 'token', 'noauth'])),
      auth_url: z.optional(url),
      username: z.optional(text),
      password_file: z.optional(text),
      token_file: z.optional(text),
      project_name: z.optional(text),
      project_id: z.optional(text),
      user_domain_name: z.optional(text),
      project_domain_name: z.optional(text),
    }),
  ),
});

/** How certctl authenticates to Barbican. Secrets are read from env or files, never from the YAML. */
export type BarbicanAuthOptions =
  | {
      method: 'password';
      authUrl: string;
      username: string;
      password: string;
      projectName?: string;
      projectId?: string;
      userDomainName: string;
      projectDomainName: string;
    }
  | { method: 'token'; token: string; authUrl?: string }
  | { method: 'noauth'; projectId: string };

/** inversify token of {@link BarbicanOptions}. */
export const BarbicanOptions = Symbol.for('certctl.barbican.BarbicanOptions');

/** The barbican: section after defaults, environment and validation. */

export interface BarbicanOptions {
  /** Barbican's API root (no /v1); absent: taken from Keystone's catalog. */
  endpoint?: string;
  caFile?: string;
  caFileOrigin?: string;
  timeoutMs: number;
  interface: 'public' | 'internal' | 'admin';
  regionName?: string;
  /** First element of every object name certctl creates (`certctl/<ca>/…`). */
  namePrefix: string;
  auth: BarbicanAuthOptions;
}

/**
 * Parses `barbican:` with defaults first; `OS_*` variables fill the same fields (and win over
 * the file, as every environment variable does in certctl).
 * @throws ConfigError naming `barbican.<key>` or the variable, and what to set.
 */
export function parseBarbicanOptions(config: ResolvedConfig): BarbicanOptions {
  const o = parseSection(config, 'barbican', optionsSchema);
  const a = o.auth ?? {};
  const env = config.env;
  const file = (p: string | undefined) => (p === undefined ? undefined : isAbsolute(p) ? p : resolve(config.baseDir, p));

  const authUrl = env.OS_AUTH_URL || a.auth_url;
  const method = a.method ?? (env.OS_TOKEN ? 'token' : authUrl ? 'password' : undefined);
  // The API root: a trailing /v1 (as some catalogs and docs write it) is dropped, certctl adds it.
  const endpoint = (env.CERTCTL_BARBICAN_ENDPOINT || o.endpoint)?.replace(/\/+$/, '').replace(/\/v1$/, '');
  for (const [name, value] of [
    ['CERTCTL_BARBICAN_ENDPOINT', env.CERTCTL_BARBICAN_ENDPOINT],
    ['OS_AUTH_URL', env.OS_AUTH_URL],
  ] as const) {
    if (value && !/^https?:\/\/[^/\s]+/.test(value)) throw new ConfigError(`${name}: "${value}" is not an http:// or https:// URL`);
  }
  const auth = parseAuth(method, a, env, file, authUrl);
  if (!endpoint && (auth.method === 'noauth' || (auth.method === 'token' && !auth.authUrl))) {
    throw new ConfigError(
      `barbican.endpoint: without Keystone's catalog certctl needs Barbican's URL (e.g. https://barbican.example:9311); set it or CERTCTL_BARBICAN_ENDPOINT`,
    );
  }
  const caFromEnv = env.OS_CACERT;
  return {
    endpoint,
    caFile: caFromEnv || file(o.ca_file),
    caFileOrigin: caFromEnv ? 'OS_CACERT' : 'barbican.ca_file',
    timeoutMs: (o.timeout ? parseDuration(o.timeout, 'barbican.timeout') : 30) * 1000,
    // openrc files of old still say publicURL / internalURL.
    interface: (env.OS_INTERFACE?.replace(/URL$/, '') as BarbicanOptions['interface']) || o.interface || 'public',
    regionName: env.OS_REGION_NAME || o.region_name,
    namePrefix: namePrefix(env.CERTCTL_BARBICAN_PREFIX) || o.name_prefix || 'certctl',
    auth,
  };
}

/**
 * The `barbican.auth` section with the `OS_*` variables over it, for the chosen method.
 * @throws ConfigError naming the missing field and the variable that fills it.
 */
function parseAuth(
  method: string | undefined,
  a: NonNullable<z.infer<typeof optionsSchema>['auth']>,
  env: NodeJS.ProcessEnv,
  file: (p: string | undefined) => string | undefined,
  authUrl: string | undefined,
): BarbicanAuthOptions {
  if (method === 'noauth') {
    const projectId = env.OS_PROJECT_ID || a.project_id;
    if (!projectId) throw new ConfigError(`barbican.auth.project_id: noauth needs the project id Barbican files secrets under; set it or OS_PROJECT_ID`);
    return { method, projectId };
  } else if (method === 'token') {
    const token = env.OS_TOKEN || (a.token_file ? readSecretFile(file(a.token_file)!, 'barbican.auth.token_file') : undefined);
    if (!token) throw new ConfigError(`barbican.auth: method token needs OS_TOKEN or barbican.auth.token_file`);
    return { method, token, authUrl };
  } else if (method === 'password') {
    if (!authUrl)
      throw new ConfigError(`barbican.auth.auth_url: the password method needs Keystone's URL (e.g. https://keystone.example:5000/v3); set it or OS_AUTH_URL`);
    const username = env.OS_USERNAME || a.username;
    if (!username) throw new ConfigError(`barbican.auth.username: the password method needs a user; set it or OS_USERNAME`);
    const password = env.OS_PASSWORD || (a.password_file ? readSecretFile(file(a.password_file)!, 'barbican.auth.password_file') : undefined);
    if (!password)
      throw new ConfigError(`barbican.auth.password_file: no password for ${username}; set OS_PASSWORD or point password_file at a file holding it`);
    const projectName = env.OS_PROJECT_NAME || a.project_name;
    const projectId = env.OS_PROJECT_ID || a.project_id;
    if (!projectName && !projectId)
      throw new ConfigError(`barbican.auth.project_name: the password method needs the project to scope the token to; set it or OS_PROJECT_NAME`);
    return {
      method,
      authUrl: authUrl.replace(/\/+$/, ''),
      username,
      password,
      projectName,
      projectId,
      userDomainName: env.OS_USER_DOMAIN_NAME || a.user_domain_name || 'Default',
      projectDomainName: env.OS_PROJECT_DOMAIN_NAME || a.project_domain_name || 'Default',
    };
  } else {
    throw new ConfigError(
      `barbican.auth.method: say how to reach Barbican — password (with OS_AUTH_URL/OS_USERNAME/OS_PASSWORD/OS_PROJECT_NAME), token (OS_TOKEN) or noauth (with a project_id, development servers only)`,
    );
  }
}

/**
 * CERTCTL_BARBICAN_PREFIX checked against the same rule as `barbican.name_prefix`.
 * @throws ConfigError naming the variable.
 */
function namePrefix(fromEnv: string | undefined): string | undefined {
  if (fromEnv && !CA_NAME_PATTERN.test(fromEnv))
    throw new ConfigError(`CERTCTL_BARBICAN_PREFIX: "${fromEnv}" is not a valid name prefix; expected ${CA_NAME_RULE}`);
  return fromEnv;
}
