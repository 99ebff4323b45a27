import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type * as z from 'zod/mini';
import { ConfigError } from '../errors';
import { parseDuration } from '../duration';
import { CA_NAME_PATTERN, CA_NAME_RULE } from '../names';
import { buildProfiles, type Profiles } from '../policy/profiles';
import type { ConfigFile } from './schema';

/**
 * The core's config schemas, built on first use: only a command that finds a config file (or a
 * section that fails to parse) needs them, and building them costs every command ~0.6 ms.
 */
const coreSchema = () => require('./schema') as typeof import('./schema');

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
  /** Name or alias of the backend that signs (`signer:`, else `backend:`); absent: the registry's default. */
  signer?: string;
  /** Name or alias of the backend that stores (`store:`, else `backend:`); absent: the registry's default. */
  store?: string;
  /** Where `signer` and `store` came from, for messages (`--backend`, `store in /etc/certctl.yaml`). */
  origins: { signer: string; store: string };
  ca: string;
  /** The built-in profiles and certctl.yaml's custom ones, by name. */
  profiles: Profiles;
  /** URLs written into issued certificates (CRL distribution points, AIA OCSP and caIssuers); `{ca}` stands for the issuing CA's name ({@link urlsOfCa}). */
  urls: { crl: string[]; issuingCa: string[]; ocsp: string[] };
  crlValiditySeconds: number;
  /** Raw sections by key (`file:`, `vault:`, …, `serve:`); each backend, and the server, parses its own. */
  sections: Record<string, unknown>;
  env: NodeJS.ProcessEnv;
}

/** certctl.yaml's `urls:` for certificates CA `ca` issues: `{ca}` replaced by its name (a server that serves several CAs, `/crl/{ca}.crl`). */
export function urlsOfCa(urls: ResolvedConfig['urls'], ca: string): ResolvedConfig['urls'] {
  const of = (list: string[]) => list.map((url) => url.replaceAll('{ca}', ca));
  return { crl: of(urls.crl), issuingCa: of(urls.issuingCa), ocsp: of(urls.ocsp) };
}

/** inversify token of the {@link ResolvedConfig}. */
export const ResolvedConfig = Symbol.for('certctl.ResolvedConfig');

/**
 * Which backend signs and which stores, with flags > environment > file: `--backend` picks both
 * halves; CERTCTL_SIGNER / CERTCTL_STORE, then CERTCTL_BACKEND; then the file's `signer:` /
 * `store:`, then its `backend:`. Absent: the registry's default.
 */
function backendHalves(
  overrides: ConfigOverrides,
  env: NodeJS.ProcessEnv,
  file: ConfigFile,
  path: string | undefined,
): Pick<ResolvedConfig, 'signer' | 'store' | 'origins'> {
  const half = (role: 'signer' | 'store', envName: string): [string | undefined, string] => {
    if (overrides.backend) return [overrides.backend, '--backend'];
    if (env[envName]) return [env[envName], envName];
    if (env.CERTCTL_BACKEND) return [env.CERTCTL_BACKEND, 'CERTCTL_BACKEND'];
    if (file[role]) return [file[role], `${role} in ${path}`];
    if (file.backend) return [file.backend, `backend in ${path}`];
    return [undefined, 'the default backend'];
  };
  const [signer, signerOrigin] = half('signer', 'CERTCTL_SIGNER');
  const [store, storeOrigin] = half('store', 'CERTCTL_STORE');
  return { signer, store, origins: { signer: signerOrigin, store: storeOrigin } };
}

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
 * @param sections the sections certctl.yaml may hold besides the core keys (the registry's backend
 *   `sections()` and the server's): any other top-level key is an error. Omitted (library callers and tests), any mapping-valued key
 *   is taken as a backend section and left to that backend to validate.
 * @throws ConfigError naming the path of the bad key and what was expected.
 */
export function loadConfig(
  overrides: ConfigOverrides,
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
  sections?: readonly string[],
): ResolvedConfig {
  const path = findConfigFile(overrides, env, cwd);
  const { file, backendSections } = path ? readConfigFile(path, sections) : { file: {} as ConfigFile, backendSections: {} };
  const halves = backendHalves(overrides, env, file, path);
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
    ...halves,
    ca,
    profiles: buildProfiles(file.profiles),
    urls: { crl: file.urls?.crl ?? [], issuingCa: file.urls?.issuing_ca ?? [], ocsp: file.urls?.ocsp ?? [] },
    crlValiditySeconds,
    sections: backendSections,
    env,
  };
}

function readConfigFile(path: string, sections: readonly string[] | undefined): { file: ConfigFile; backendSections: Record<string, unknown> } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `cannot read config file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; check that it exists and is readable`,
      { cause: err },
    );
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
  const backendSections: Record<string, unknown> = {};
  const unknown: string[] = [];
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    if (coreSchema().CORE_KEYS.includes(key)) continue;
    const isSection = sections ? sections.includes(key) : value !== null && typeof value === 'object' && !Array.isArray(value);
    if (isSection) backendSections[key] = value;
    else unknown.push(key);
  }
  const parsed = coreSchema().configSchema.safeParse(raw);
  const problems = [
    ...(unknown.length
      ? [`unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')}${sections ? ` (sections: ${sections.join(', ')})` : ''}`]
      : []),
    ...(parsed.success ? [] : [coreSchema().describeIssues(parsed.error.issues)]),
  ];
  if (problems.length || !parsed.success) throw new ConfigError(`config file ${path}: ${problems.join('; ')}`);
  return { file: parsed.data, backendSections };
}

/**
 * A backend's section of certctl.yaml, parsed with its own schema (an absent section is `{}`, so
 * defaults apply): what every backend's `parseOptions` starts from.
 * @throws ConfigError naming the file and `section.key` for each problem.
 */
export function parseSection<S extends z.ZodMiniType>(config: ResolvedConfig, section: string, schema: S): z.infer<S> {
  const parsed = schema.safeParse(config.sections[section] ?? {});
  if (!parsed.success) throw new ConfigError(`${config.path ?? 'config'}: ${coreSchema().describeIssues(parsed.error.issues, section)}`);
  return parsed.data;
}
