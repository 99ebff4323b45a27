import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * The ACME clients and reference servers tools/install-acme-clients.sh installs into
 * .cache/acme-clients (each overridable with the `ACME_*` variable the script prints).
 */
export interface AcmeTools {
  certbot: string;
  /** The venv's python: has the `acme` library test/support/acme_edge.py needs. */
  python: string;
  lego: string;
  pebble: string;
  challtestsrv: string;
}

const ROOT = resolve(__dirname, '..', '..');
const CACHE = join(ROOT, '.cache', 'acme-clients');
const HOW_TO_INSTALL = 'install them with `bash tools/install-acme-clients.sh` (tools/install-test-deps.sh does)';

/** Where each tool is: the ACME_* override or its place in .cache/acme-clients. */
export function acmeToolPaths(): AcmeTools {
  const e = process.env;
  return {
    certbot: e.ACME_CERTBOT ?? join(CACHE, 'venv', 'bin', 'certbot'),
    python: e.ACME_PYTHON ?? join(CACHE, 'venv', 'bin', 'python'),
    lego: e.ACME_LEGO ?? join(CACHE, 'bin', 'lego'),
    pebble: e.ACME_PEBBLE ?? join(CACHE, 'bin', 'pebble'),
    challtestsrv: e.ACME_CHALLTESTSRV ?? join(CACHE, 'bin', 'pebble-challtestsrv'),
  };
}

/**
 * The installed tools, or undefined after a loud warning on a developer machine without them.
 * Under CI nothing may be skipped: a missing tool throws.
 */
export function acmeTools(): AcmeTools | undefined {
  const tools = acmeToolPaths();
  const missing = Object.values(tools).filter((path) => {
    try {
      accessSync(path, constants.X_OK);
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length === 0) return tools;
  const why = `missing ${missing.join(', ')}`;
  if (process.env.CI) throw new Error(`ACME client tests cannot run under CI: ${why}; ${HOW_TO_INSTALL}`);
  console.warn(`\n*** SKIPPING ACME client tests: ${why}.\n*** ${HOW_TO_INSTALL}.\n`);
  return undefined;
}

/** `describe` with the ACME tools when installed, `describe.skip` (after the loud warning) when not. */
export function describeWithAcmeTools(name: string, fn: (tools: AcmeTools) => void): void {
  const tools = acmeTools();
  if (tools) describe(name, () => fn(tools));
  else describe.skip(name, () => it('needs the ACME clients (tools/install-acme-clients.sh)', () => undefined));
}

/** How a tool run ended: exit code (null when killed) and stdout + stderr interleaved. */
export interface ToolRun {
  code: number | null;
  output: string;
}

/** A tool that did not exit 0: its command line and whole output are in the message. */
export class ToolFailure extends Error {
  constructor(
    readonly command: string,
    readonly run: ToolRun,
  ) {
    super(`${command} exited ${run.code ?? 'on a signal (timeout?)'}:\n${run.output}`);
  }
}

/**
 * Runs a tool without blocking the event loop (clients run side by side and against servers this
 * process may serve). Its process group is killed after `timeoutMs` (lego's exec provider starts
 * children). Never throws for an exit code: see `runToolOk`.
 */
export function runTool(cmd: string, args: string[], opts: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {}): Promise<ToolRun> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => {
      output += `\n[killed after ${opts.timeoutMs ?? 120000} ms]`;
      killGroup(child.pid);
    }, opts.timeoutMs ?? 120000);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, output });
    });
  });
}

/** `runTool`, throwing a ToolFailure (with the output) unless the tool exits 0. */
export async function runToolOk(cmd: string, args: string[], opts: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {}): Promise<ToolRun> {
  const r = await runTool(cmd, args, opts);
  if (r.code !== 0) throw new ToolFailure([cmd, ...args].join(' '), r);
  return r;
}

/** SIGKILL to a detached child's whole process group; a group already gone is fine. */
export function killGroup(pid: number | undefined): void {
  if (!pid) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    /* already exited */
  }
}
