import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { killGroup } from './acme-tools';

/** A server started in the background by a test or a benchmark (its own process group). */
export interface BackgroundServer {
  pid: number;
  logFile: string;
  /** The log so far (stdout and stderr). */
  log(): string;
  /** SIGKILL to its process group; waits for the exit. */
  stop(): Promise<void>;
}

/**
 * Starts `cmd args` detached in its own process group, output to `dir/<name>.log`, pid to
 * `dir/<name>.pid`, then waits until `ready()` resolves true (polled every 50 ms). Throws with the
 * log's tail when the process exits first or is not ready within `timeoutMs` (it is killed then).
 */
export async function startBackground(
  dir: string,
  name: string,
  cmd: string,
  args: string[],
  opts: { env?: Record<string, string>; ready: () => Promise<boolean>; timeoutMs?: number },
): Promise<BackgroundServer> {
  const logFile = join(dir, `${name}.log`);
  const fd = openSync(logFile, 'w');
  const child = spawn(cmd, args, { cwd: dir, env: { ...process.env, ...opts.env }, detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${name}: could not start ${cmd}`);
  writeFileSync(join(dir, `${name}.pid`), `${pid}\n`);
  let exited: string | undefined;
  const exit = new Promise<void>((resolve) => child.once('exit', (code, signal) => ((exited = `exited with ${code ?? signal}`), resolve())));
  const log = () => readFileSync(logFile, 'utf8');
  const deadline = Date.now() + (opts.timeoutMs ?? 30000);
  for (;;) {
    if (exited) throw new Error(`${name} ${exited} before it was ready:\n${log().slice(-2000)}`);
    if (await opts.ready().catch(() => false)) break;
    if (Date.now() > deadline) {
      killGroup(pid);
      throw new Error(`${name} was not ready within ${(opts.timeoutMs ?? 30000) / 1000} s:\n${log().slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    pid,
    logFile,
    log,
    stop: async () => {
      if (!exited) killGroup(pid);
      await exit;
    },
  };
}

/** One plain-HTTP request (a management API on loopback); resolves with status and body text. */
export function httpRequest(url: string, method = 'GET', body?: unknown): Promise<{ status: number; text: string }> {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.setTimeout(10000, () => req.destroy(new Error(`${method} ${url}: no answer in 10 s`)));
    req.end(payload);
  });
}
