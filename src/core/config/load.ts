import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { ConfigError } from '../errors';
import { parseDuration } from '../duration';
import { CA_NAME_PATTERN, CA_NAME_RULE } from '../names';
import { buildProfiles, type Profile } from '../policy/profiles';
import type { ProfileName } from '../types';
import { configSchema, describeIssues, type ConfigFile } from './schema';

/** Values given on the command line; they win over environment and file. */
export interface ConfigOverrides {
  configPath?: string;
  backend?: string;
  ca?: string;
}

/** certctl's configuration after precedence (flags > env > file > defaults) and validation. */
export interface ResolvedConfig {
  /** The file read, if any. */
  path?: string;
  /** Directory relative paths in the file are resolved against (the file's, else the cwd). */
  baseDir: string;
  backend: string;
  signer: string;
  store: string;
  ca: string;
  profiles: Record<ProfileName, Profile>;
  urls: { crl: string[]; issuingCa: string[] };
  crlValiditySeconds: number;
  /** Raw backend sections (`file:`, `vault:`, `barbican:`); each backend parses its own. */
  sections: Record<string, unknown>;
  env: NodeJS.ProcessEnv;
}

/** inversify token of the {@link ResolvedConfig}. */
export const ResolvedConfig = Symbol.for('certctl.ResolvedConfig');

/**
 * Finds the config file: --config, then $CERTCTL_CONFIG, then ./certctl.yaml, then
 * $XDG_CONFIG_HOME/certctl/config.yaml. An explicitly named file must exist.
 * @throws ConfigError when an explicitly named file is missing.
 */
export function findConfigFile(overrides: ConfigOverrides, env: NodeJS.ProcessEnv, cwd: string): string | undefined {
  const explicit = overrides.configPath ?? env.CERTCTL_CONFIG;
  if (explicit) {
    const path = resolve(cwd, explicit);
    if (!existsSync(path)) {
      const from = overrides.configPath ? '--config' : 'CERTCTL_CONFIG';
      throw new ConfigError(`config file ${path} (from ${from}) does not exist; create it or point ${from} at an existing file`);
    }
    return path;
  }
  const local = join(cwd, 'certctl.yaml');
  if (existsSync(local)) return local;
  const xdg = join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'certctl', 'config.yaml');
  return existsSync(xdg) ? xdg : undefined;
}

/**
 * Loads and validates the configuration.
 * @throws ConfigError naming the path of the bad key and what was expected.
 */
export function loadConfig(overrides: ConfigOverrides, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): ResolvedConfig {
  const path = findConfigFile(overrides, env, cwd);
  const file = path ? readConfigFile(path) : {};
  const backend = overrides.backend ?? env.CERTCTL_BACKEND ?? file.backend ?? 'file';
  const ca = overrides.ca ?? env.CERTCTL_CA ?? file.ca ?? 'default';
  if (!CA_NAME_PATTERN.test(ca)) {
    throw new ConfigError(`ca: "${ca}" is not a valid CA name; use ${CA_NAME_RULE}`);
  }
  let crlValiditySeconds = 7 * 86400;
  if (file.crl?.validity) {
    try {
      crlValiditySeconds = parseDuration(file.crl.validity, 'crl.validity');
    } catch (err) {
      throw new ConfigError(`config file ${path}: ${(err as Error).message}`, { cause: err });
    }
  }
  return {
    path,
    baseDir: path ? dirname(path) : cwd,
    backend,
    // An explicit --backend picks both halves; the file's signer:/store: refine a file-chosen backend.
    signer: overrides.backend ? backend : backendOf(env.CERTCTL_SIGNER ?? file.signer ?? backend),
    store: overrides.backend ? backend : backendOf(env.CERTCTL_STORE ?? file.store ?? backend),
    ca,
    profiles: buildProfiles(file.profiles),
    urls: { crl: file.urls?.crl ?? [], issuingCa: file.urls?.issuing_ca ?? [] },
    crlValiditySeconds,
    sections: { file: file.file, vault: file.vault, barbican: file.barbican },
    env,
  };
}

/**
 * The backend behind a store or signer kind: `store: vault-kv` (the name `migrate --to` and the
 * messages use for Vault's KV store) and `signer: vault-pki` mean the vault backend.
 */
function backendOf(name: string): string {
  return name === 'vault-kv' || name === 'vault-pki' ? 'vault' : name;
}

function readConfigFile(path: string): ConfigFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; check that it exists and is readable`, { cause: err });
  }
  // Loaded lazily: the YAML parser is only needed when a file exists.
  const { parse } = require('yaml') as typeof import('yaml');
  let raw: unknown;
  try {
    raw = parse(text) ?? {};
  } catch (err) {
    throw new ConfigError(`config file ${path} is not valid YAML: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(`config file ${path}: expected a mapping of keys (backend:, file:, profiles:, …) at the top level`);
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(`config file ${path}: ${describeIssues(parsed.error.issues)}`);
  return parsed.data;
}
