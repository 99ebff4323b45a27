import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { run } from './cli';

/** A free loopback port (asked of the kernel, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * A real mutual-TLS handshake with independent tools: `openssl s_server` demanding a client
 * certificate from the CA, `curl` presenting one. Resolves with curl's result.
 */
export async function mtlsHandshake(opts: {
  caFile: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  host?: string;
}): Promise<{ status: number; stdout: string; stderr: string }> {
  const port = await freePort();
  const server = spawn(
    'openssl',
    [
      's_server',
      '-accept',
      `127.0.0.1:${port}`,
      '-cert',
      opts.serverCert,
      '-key',
      opts.serverKey,
      '-CAfile',
      opts.caFile,
      '-Verify',
      '1',
      '-verify_return_error',
      '-www',
      '-naccept',
      '1',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('openssl s_server did not start')), 10000);
      server.stdout.on('data', (d: Buffer) => {
        if (d.toString().includes('ACCEPT')) {
          clearTimeout(timer);
          resolve();
        }
      });
      server.once('exit', (code) => reject(new Error(`openssl s_server exited ${code}`)));
    });
    const host = opts.host ?? 'localhost';
    return run(
      'curl',
      [
        '-sS',
        '--fail',
        '--cacert',
        opts.caFile,
        '--cert',
        opts.clientCert,
        '--key',
        opts.clientKey,
        '--resolve',
        `${host}:${port}:127.0.0.1`,
        `https://${host}:${port}/`,
      ],
      { timeout: 20000 },
    );
  } finally {
    server.kill();
  }
}

/** Every file under `dir` (recursively) whose content holds a PEM private key, except under `except`. */
export function privateKeyFilesUnder(dir: string, except: string[] = []): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (except.some((e) => p === e || p.startsWith(`${e}/`))) continue;
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.size < 1_000_000 && /PRIVATE KEY-----/.test(readFileSync(p, 'latin1'))) out.push(p);
    }
  };
  walk(dir);
  return out;
}
