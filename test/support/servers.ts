import { loadConfig, type ResolvedConfig } from '../../src/core/config/load';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { AxiosTransport, RetryingTransport } from '../../src/backends/http/transport';
import { BarbicanClient } from '../../src/backends/barbican/client';
import { createAuth } from '../../src/backends/barbican/auth';
import { parseBarbicanOptions } from '../../src/backends/barbican/options';

/** The real Keystone + Barbican pair test/support/global-setup.js started (or the developer exported). */
export interface OpenStackServers {
  authUrl: string;
  username: string;
  password: string;
  projectName: string;
  /** Barbican behind Keystone's authtoken middleware. */
  endpoint: string;
  /** A second Barbican with the noauth pipeline (its own database). */
  noauthEndpoint: string;
  noauthProject: string;
  keystoneAdminPassword: string;
  stateDir: string;
}

const HOW_TO_START =
  'start them with `eval "$(tools/openstack-dev.sh start)"` (needs root for apt), or `docker compose up -d keystone barbican` and export the CERTCTL_IT_* variables it prints';

/**
 * The OpenStack servers, or undefined (after a loud warning) on a developer machine without them.
 * Under CI nothing may be skipped: a missing server throws.
 */
export function openstackServers(): OpenStackServers | undefined {
  const e = process.env;
  if (!e.CERTCTL_IT_BARBICAN_ENDPOINT || !e.OS_AUTH_URL || !e.OS_PASSWORD) {
    const why = e.CERTCTL_IT_OPENSTACK_UNAVAILABLE ?? 'CERTCTL_IT_BARBICAN_ENDPOINT / OS_AUTH_URL are not set';
    if (e.CI) throw new Error(`Barbican/Keystone integration tests cannot run under CI: ${why}`);
    console.warn(`\n*** SKIPPING Barbican/Keystone integration tests: ${why}.\n*** ${HOW_TO_START}.\n`);
    return undefined;
  }
  return {
    authUrl: e.OS_AUTH_URL,
    username: e.OS_USERNAME ?? 'certctl',
    password: e.OS_PASSWORD,
    projectName: e.OS_PROJECT_NAME ?? 'demo',
    endpoint: e.CERTCTL_IT_BARBICAN_ENDPOINT,
    noauthEndpoint: e.CERTCTL_IT_BARBICAN_NOAUTH_ENDPOINT ?? '',
    noauthProject: e.CERTCTL_IT_BARBICAN_NOAUTH_PROJECT ?? '',
    keystoneAdminPassword: e.CERTCTL_IT_KEYSTONE_ADMIN_PASSWORD ?? '',
    stateDir: e.CERTCTL_IT_OPENSTACK_STATE ?? '',
  };
}

/** `describe` when the servers are there, `describe.skip` (after the loud warning) when not. */
export function describeWithOpenStack(name: string, fn: (servers: OpenStackServers) => void): void {
  const servers = openstackServers();
  if (servers) describe(name, () => fn(servers));
  else describe.skip(name, () => it('needs Barbican and Keystone', () => undefined));
}

/** A fresh object-name prefix, so each test sees an empty store. */
export function freshPrefix(): string {
  return `it-${randomBytes(5).toString('hex')}`;
}

/** Environment that points certctl at the Keystone-protected Barbican with the password flow. */
export function keystoneEnv(s: OpenStackServers, prefix: string): Record<string, string> {
  return {
    OS_AUTH_URL: s.authUrl,
    OS_USERNAME: s.username,
    OS_PASSWORD: s.password,
    OS_PROJECT_NAME: s.projectName,
    OS_USER_DOMAIN_NAME: 'Default',
    OS_PROJECT_DOMAIN_NAME: 'Default',
    CERTCTL_BACKEND: 'barbican',
    CERTCTL_BARBICAN_PREFIX: prefix,
  };
}

/** A certctl.yaml in `dir` for the noauth Barbican; returns its path. */
export function writeNoauthConfig(dir: string, s: OpenStackServers, prefix: string): string {
  const path = join(dir, 'certctl.yaml');
  writeFileSync(
    path,
    `backend: barbican\nbarbican:\n  endpoint: ${s.noauthEndpoint}\n  name_prefix: ${prefix}\n  auth:\n    method: noauth\n    project_id: ${s.noauthProject}\n`,
  );
  return path;
}

/** A resolved config for the Keystone-protected Barbican. */
export function keystoneConfig(s: OpenStackServers, prefix: string, dir: string): ResolvedConfig {
  return loadConfig({}, { ...keystoneEnv(s, prefix), XDG_CONFIG_HOME: join(dir, 'xdg') }, dir);
}

/** A raw client on the same project, for checking Barbican directly (what is stored, what is left). */
export function inspector(config: ResolvedConfig): {
  client: BarbicanClient;
  objects(prefix: string): Promise<{ secrets: string[]; containers: string[] }>;
  purge(prefix: string): Promise<void>;
} {
  const options = parseBarbicanOptions(config);
  const http = new RetryingTransport(new AxiosTransport(options), { retries: 2, baseDelayMs: 200 });
  const client = new BarbicanClient(http, createAuth(options, http), options);
  const objects = async (prefix: string) => {
    const secrets = (await client.listSecrets()).filter((s) => s.name.startsWith(`${prefix}/`));
    const containers = (await client.listContainers()).filter((c) => c.name.startsWith(`${prefix}/`));
    return { secrets: secrets.map((s) => `${s.name} ${s.id}`), containers: containers.map((c) => `${c.name} ${c.id}`) };
  };
  return {
    client,
    objects,
    async purge(prefix: string) {
      for (const c of (await client.listContainers()).filter((c) => c.name.startsWith(`${prefix}/`))) await client.deleteContainer(c.id);
      for (const s of (await client.listSecrets()).filter((s) => s.name.startsWith(`${prefix}/`))) await client.deleteSecret(s.id);
    },
  };
}

/** The Vault-API server test/support/global-setup.js started (or CERTCTL_IT_VAULT_* pointing elsewhere). */
export interface VaultServer {
  addr: string;
  token: string;
  caCert?: string;
}

const HOW_TO_START_VAULT =
  'start one with `eval "$(tools/vault-dev.sh start)"` and export CERTCTL_IT_VAULT_ADDR=$VAULT_ADDR CERTCTL_IT_VAULT_TOKEN=$VAULT_TOKEN, or `docker compose up -d vault` (see README)';

/** The Vault server, or undefined after a loud warning on a developer machine; under CI a missing server throws. */
export function vaultServer(): VaultServer | undefined {
  const e = process.env;
  if (!e.CERTCTL_IT_VAULT_ADDR || !e.CERTCTL_IT_VAULT_TOKEN) {
    const why = e.CERTCTL_IT_VAULT_UNAVAILABLE ?? 'CERTCTL_IT_VAULT_ADDR / CERTCTL_IT_VAULT_TOKEN are not set';
    if (e.CI) throw new Error(`Vault integration tests cannot run under CI: ${why}`);
    console.warn(`\n*** SKIPPING Vault integration tests: ${why}.\n*** ${HOW_TO_START_VAULT}.\n`);
    return undefined;
  }
  return { addr: e.CERTCTL_IT_VAULT_ADDR, token: e.CERTCTL_IT_VAULT_TOKEN, caCert: e.CERTCTL_IT_VAULT_CACERT };
}

/** `describe` with a Vault server, `describe.skip` (after the loud warning) without. */
export function describeWithVault(name: string, fn: (vault: VaultServer) => void): void {
  const vault = vaultServer();
  if (vault) describe(name, () => fn(vault));
  else describe.skip(name, () => it('needs a Vault-API server', () => undefined));
}

/** Environment pointing certctl at the test Vault as root (token auth). */
export function vaultEnv(v: VaultServer, extra: Record<string, string> = {}): Record<string, string> {
  return { VAULT_ADDR: v.addr, VAULT_TOKEN: v.token, ...(v.caCert ? { VAULT_CACERT: v.caCert } : {}), ...extra };
}

/** A certctl.yaml for Vault with a fresh PKI mount and KV prefix; returns them. */
export function writeVaultConfig(dir: string, extra = ''): { pkiMount: string; kvPrefix: string; path: string } {
  const id = randomBytes(4).toString('hex');
  const pkiMount = `pki-it-${id}`;
  const kvPrefix = `certctl-it-${id}`;
  const path = join(dir, 'certctl.yaml');
  writeFileSync(path, `backend: vault\nvault:\n  pki_mount: ${pkiMount}\n  kv_mount: secret\n  kv_prefix: ${kvPrefix}\n${extra}`);
  return { pkiMount, kvPrefix, path };
}

/** Deletes every KV v2 secret (metadata and all versions) under `secret/<kvPrefix>/`, two levels deep, as the stores write them. */
export function purgeKvPrefix(v: VaultServer, kvPrefix: string): void {
  const keys = (path: string) => (vaultCurl(v, 'LIST', `secret/metadata/${path}`).json?.data?.keys ?? []) as string[];
  for (const ca of keys(kvPrefix)) {
    for (const key of keys(`${kvPrefix}/${ca}`)) {
      if (key.endsWith('/')) for (const s of keys(`${kvPrefix}/${ca}${key}`)) vaultCurl(v, 'DELETE', `secret/metadata/${kvPrefix}/${ca}${key}${s}`);
      else vaultCurl(v, 'DELETE', `secret/metadata/${kvPrefix}/${ca}${key}`);
    }
  }
}

/** Vault's API through curl (an independent client), as root. */
export function vaultCurl(v: VaultServer, method: string, path: string, body?: unknown, token = v.token): { status: number; json: any } {
  const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
  const args = ['-sS', '-o', '-', '-w', '\n%{http_code}', '-X', method, '-H', `X-Vault-Token: ${token}`];
  if (v.caCert) args.push('--cacert', v.caCert);
  if (body !== undefined) args.push('-H', 'Content-Type: application/json', '--data-binary', '@-');
  args.push(`${v.addr}/v1/${path}`);
  const r = spawnSync('curl', args, { encoding: 'utf8', input: body === undefined ? undefined : JSON.stringify(body), timeout: 30000 });
  const lines = r.stdout.trimEnd().split('\n');
  const status = Number(lines.pop());
  const text = lines.join('\n');
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = text;
  }
  return { status, json };
}
