import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import * as z from 'zod/mini';
import { parseSection, type ResolvedConfig } from '../../core/config/load';
import { parseDuration } from '../../core/duration';
import { ConfigError } from '../../core/errors';
import { readSecretFile } from '../../core/secrets';

const text = z.string().check(z.minLength(1, 'expected a non-empty string'));
const mountPath = z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$/, 'expected a mount path like pki or team/pki (no leading or trailing slash)'));

const optionsSchema = z.strictObject({
  address: z.optional(z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' })),
  namespace: z.optional(z.string()),
  pki_mount: z.optional(mountPath),
  kv_mount: z.optional(mountPath),
  kv_prefix: z.optional(z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$/, 'expected a path prefix like certctl or teams/infra'))),
  ca_file: z.optional(text),
  timeout: z.optional(z.string().check(z.regex(/^\d+\s*[smh]$/i, 'expected a duration like 30s or 2m'))),
  auth: z.optional(
    z.strictObject({
      method: z.optional(z.enum(['token', 'approle'])),
      token_file: z.optional(text),
      mount: z.optional(mountPath),
      role_id: z.optional(text),
      role_id_file: z.optional(text),
      secret_id_file: z.optional(text),
    }),
  ),
});

/** How certctl logs in to Vault. Secrets come from the environment or files, never from the YAML. */
export type VaultAuthOptions = { method: 'token'; token: string; origin: string } | { method: 'approle'; mount: string; roleId: string; secretId: string };

/** inversify token of {@link VaultOptions}. */
export const VaultOptions = Symbol.for('certctl.vault.VaultOptions');

/** The vault: section after defaults, environment and validation. */

export interface VaultOptions {
  address: string;
  namespace?: string;
  pkiMount: string;
  kvMount: string;
  kvPrefix: string;
  caFile?: string;
  caFileOrigin?: string;
  timeoutMs: number;
  auth: VaultAuthOptions;
}

/**
 * Parses `vault:` with defaults first; the `VAULT_*` variables fill the same fields and win over
 * the file. The token comes from VAULT_TOKEN, then `auth.token_file`, then ~/.vault-token (as
 * the vault CLI does).
 * @throws ConfigError naming `vault.<key>` or the variable, and what to set.
 */
export function parseVaultOptions(config: ResolvedConfig): VaultOptions {
  const o = parseSection(config, 'vault', optionsSchema);
  const a = o.auth ?? {};
  const env = config.env;
  const file = (p: string) => (isAbsolute(p) ? p : resolve(config.baseDir, p));

  const address = (env.VAULT_ADDR || o.address)?.replace(/\/+$/, '');
  if (!address) throw new ConfigError('vault.address: where is Vault? Set it (e.g. https://vault.example:8200) or VAULT_ADDR');
  if (!URL.canParse(address) || !/^https?:$/.test(new URL(address).protocol)) {
    throw new ConfigError(`${env.VAULT_ADDR ? 'VAULT_ADDR' : 'vault.address'}: "${address}" is not an http:// or https:// URL`);
  }

  let auth: VaultAuthOptions;
  const method = a.method ?? 'token';
  if (method === 'approle') {
    const roleId = env.VAULT_ROLE_ID || a.role_id || (a.role_id_file ? readSecretFile(file(a.role_id_file), 'vault.auth.role_id_file') : undefined);
    if (!roleId) throw new ConfigError('vault.auth.role_id: AppRole login needs the role id; set role_id, role_id_file or VAULT_ROLE_ID');
    const secretId = env.VAULT_SECRET_ID || (a.secret_id_file ? readSecretFile(file(a.secret_id_file), 'vault.auth.secret_id_file') : undefined);
    if (!secretId)
      throw new ConfigError('vault.auth.secret_id_file: AppRole login needs a secret id; point secret_id_file at a file holding it, or set VAULT_SECRET_ID');
    auth = { method, mount: a.mount ?? 'approle', roleId, secretId };
  } else {
    const tokenHelper = join(homedir(), '.vault-token');
    if (env.VAULT_TOKEN) auth = { method, token: env.VAULT_TOKEN, origin: 'VAULT_TOKEN' };
    else if (a.token_file)
      auth = { method, token: readSecretFile(file(a.token_file), 'vault.auth.token_file'), origin: `vault.auth.token_file (${a.token_file})` };
    else if (existsSync(tokenHelper)) auth = { method, token: readSecretFile(tokenHelper, '~/.vault-token'), origin: '~/.vault-token' };
    else
      throw new ConfigError(
        'vault.auth: no Vault token; set VAULT_TOKEN, vault.auth.token_file, log in with `vault login` (~/.vault-token), or use method: approle',
      );
  }

  const caFromEnv = env.VAULT_CACERT;
  return {
    address,
    namespace: env.VAULT_NAMESPACE || o.namespace || undefined,
    pkiMount: o.pki_mount ?? 'pki',
    kvMount: o.kv_mount ?? 'secret',
    kvPrefix: env.CERTCTL_VAULT_KV_PREFIX || o.kv_prefix || 'certctl',
    caFile: caFromEnv || (o.ca_file ? file(o.ca_file) : undefined),
    caFileOrigin: caFromEnv ? 'VAULT_CACERT' : 'vault.ca_file',
    timeoutMs: (o.timeout ? parseDuration(o.timeout, 'vault.timeout') : 30) * 1000,
    auth,
  };
}
