import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { CERTCTL_BIN, certctl } from './cli';
import { freePort } from './tls-check';

/** A `certctl serve` process started by a test (the built CLI, as an operator runs it). */
export interface ServeProcess {
  url: string;
  port: number;
  /** The CA certificate (PEM file) clients trust for the server's TLS. */
  caFile: string;
  child: ChildProcess;
  /** stderr so far: one JSON object per line. */
  log(): string;
  /** SIGTERM, then the exit code (null when it had to be killed). */
  stop(): Promise<number | null>;
}

/**
 * Starts `certctl serve --listen 127.0.0.1:<free port>` in `dir` (where a CA exists) and waits for its
 * "ready" log line. The CA certificate is written to `dir/ca.pem` for clients. `port` listens on a
 * given port instead (a restart on the port a client already uses).
 */
export async function startServe(dir: string, env: Record<string, string> = {}, args: string[] = [], port?: number): Promise<ServeProcess> {
  const ca = certctl(dir, ['ca', 'show'], env);
  if (ca.status !== 0) throw new Error(`certctl ca show failed: ${ca.stderr}`);
  const caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, ca.stdout);
  port ??= await freePort();
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^(CERTCTL_|VAULT_|OS_)/.test(k)) base[k] = v;
  const child = spawn(process.execPath, [CERTCTL_BIN, 'serve', '--listen', `127.0.0.1:${port}`, ...args], {
    cwd: dir,
    env: { ...base, XDG_CONFIG_HOME: join(dir, '.xdg'), ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => (stderr += chunk));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`certctl serve did not become ready in 30 s:\n${stderr}`)), 30000);
    const check = () => {
      if (stderr.includes('certctl serve ready')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stderr?.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`certctl serve exited with ${code} before it was ready:\n${stderr}`));
    });
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    caFile,
    child,
    log: () => stderr,
    stop: async () => {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** An HTTPS answer: status, headers, body text and body parsed as JSON when it is JSON. */
export interface HttpsAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  body: any;
}

/**
 * One HTTPS request with Node's client (TLS verified against `caFile`), optionally with a client
 * certificate: for the tests that need many requests; curl checks each endpoint separately.
 */
export function httpsCall(
  server: { url: string; caFile: string },
  method: string,
  path: string,
  opts: { json?: unknown; body?: Buffer | string; contentType?: string; cert?: string; key?: string; headers?: Record<string, string> } = {},
): Promise<HttpsAnswer> {
  const payload = opts.json !== undefined ? Buffer.from(JSON.stringify(opts.json)) : opts.body !== undefined ? Buffer.from(opts.body) : undefined;
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      `${server.url}${path}`,
      {
        method,
        ca: readFileSync(server.caFile),
        cert: opts.cert ? readFileSync(opts.cert) : undefined,
        key: opts.key ? readFileSync(opts.key) : undefined,
        headers: {
          ...(payload ? { 'content-type': opts.contentType ?? 'application/json', 'content-length': String(payload.length) } : {}),
          ...opts.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown;
          try {
            body = JSON.parse(text);
          } catch {
            body = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/**
 * One request with curl (TLS verified against the server's CA), as an operator would send it:
 * the status and the body parsed as JSON.
 */
export function curlJson(
  server: { url: string; caFile: string },
  path: string,
  opts: { method?: string; json?: unknown; headers?: Record<string, string> } = {},
): { status: number; body: any } {
  const args = ['-sS', '-w', '\n%{http_code}', '--cacert', server.caFile, '-X', opts.method ?? (opts.json === undefined ? 'GET' : 'POST')];
  for (const [name, value] of Object.entries(opts.headers ?? {})) args.push('-H', `${name}: ${value}`);
  if (opts.json !== undefined) args.push('-H', 'content-type: application/json', '-d', JSON.stringify(opts.json));
  const r = spawnSync('curl', [...args, `${server.url}${path}`], { encoding: 'utf8', timeout: 60000 });
  if (r.error) throw r.error;
  const cut = r.stdout.lastIndexOf('\n');
  return { status: Number(r.stdout.slice(cut + 1)), body: JSON.parse(r.stdout.slice(0, cut)) };
}
