import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** Path of the built CLI (npm test builds it first). */
export const CERTCTL_BIN = resolve(__dirname, '..', '..', 'bin', 'certctl.js');

/** The result of one certctl run. */
export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON when --json was given. */
  json?: { status: number; result?: any; error?: { code: string; message: string } };
}

/**
 * Runs the built CLI as a user would: a fresh process in `cwd`, with a clean
 * environment (no CERTCTL_* or VAULT_* from the developer's shell) plus `env`.
 */
export function certctl(cwd: string, args: string[], env: Record<string, string> = {}, input?: string): CliResult {
  const r: SpawnSyncReturns<string> = spawnSync(process.execPath, [CERTCTL_BIN, ...args], {
    cwd,
    env: userEnv(cwd, env),
    encoding: 'utf8',
    input,
    timeout: 120000,
  });
  return result(args, r.status ?? -1, r.stdout, r.stderr);
}

/** A run's outcome, with stdout parsed when --json was given. */
function result(args: string[], status: number, stdout: string, stderr: string): CliResult {
  const out: CliResult = { status, stdout, stderr };
  if (args.includes('--json')) {
    try {
      out.json = JSON.parse(stdout);
    } catch {
      /* left undefined: the test asserting on it will say so */
    }
  }
  return out;
}

/** The environment of a certctl run: the test's own minus CERTCTL_*, VAULT_* and OS_*, plus `env`. */
function userEnv(cwd: string, env: Record<string, string>): Record<string, string> {
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !/^(CERTCTL_|VAULT_|OS_)/.test(k)) base[k] = v;
  }
  return { ...base, XDG_CONFIG_HOME: join(cwd, '.xdg'), ...env };
}

/** A fresh temporary directory, removed by the returned cleanup. */
export function tempDir(prefix = 'certctl-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs a tool (openssl, curl, python3) and returns its result without throwing. */
export function run(cmd: string, args: string[], opts: { cwd?: string; input?: string; timeout?: number } = {}): CliResult {
  const r = spawnSync(cmd, args, { cwd: opts.cwd, input: opts.input, encoding: 'utf8', timeout: opts.timeout ?? 60000 });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/**
 * `openssl req` with a new unencrypted P-256 key written to `keyFile`, plus `args` (e.g. `-subj`,
 * `-out`, or `-x509`); throws with openssl's stderr when it fails.
 */
export function opensslEcReq(cwd: string, keyFile: string, args: string[]): CliResult {
  const r = run('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, ...args], { cwd });
  if (r.status !== 0) throw new Error(`openssl req failed: ${r.stderr}`);
  return r;
}

/** Fails loudly (never skips) when a tool the e2e tests rely on is missing. */
export function requireTool(cmd: string, versionArgs: string[]): void {
  const r = spawnSync(cmd, versionArgs, { encoding: 'utf8' });
  if (r.error) throw new Error(`e2e tests need \`${cmd}\` on PATH: ${r.error.message}`);
}

/** Fails loudly when the CLI has not been built. */
export function requireBuiltCli(): void {
  if (!existsSync(join(CERTCTL_BIN, '..', '..', 'dist', 'certctl.js'))) {
    throw new Error('dist/certctl.js is missing: run `npm run build` before the e2e tests');
  }
}

/** Runs certctl and throws with its output unless it exits 0. */
export function ok(cwd: string, args: string[], env: Record<string, string> = {}): CliResult {
  const r = certctl(cwd, args, env);
  if (r.status !== 0) throw new Error(`certctl ${args.join(' ')} exited ${r.status}\n${r.stderr}\n${r.stdout}`);
  return r;
}

/**
 * Runs certctl without blocking the test's event loop, for tests that serve something
 * (a fault-injecting proxy) from the test process while certctl runs.
 */
export function certctlAsync(cwd: string, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const { spawn } = require('node:child_process') as typeof import('node:child_process');
  const child = spawn(process.execPath, [CERTCTL_BIN, ...args], { cwd, env: userEnv(cwd, env) });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 120000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve(result(args, code ?? -1, stdout, stderr));
    });
  });
}

/**
 * Makes a P-256 key and a CSR with openssl req (as a user outside certctl would) in `cwd`;
 * `extra` adds arguments such as `-addext subjectAltName=…`. Throws with openssl's output on failure.
 */
export function opensslEcCsr(cwd: string, subject: string, keyFile: string, csrFile: string, extra: string[] = []): void {
  opensslEcReq(cwd, keyFile, ['-new', '-subj', subject, ...extra, '-out', csrFile]);
}
