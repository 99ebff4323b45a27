import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort } from './tls-check';

/** An nginx started by a test: one master process in a directory of its own, listening on 127.0.0.1. */
export interface NginxProcess {
  port: number;
  /** Its error log so far (where it says why it refused a client certificate). */
  errorLog(): string;
  stop(): Promise<void>;
}

/**
 * The nginx binary: on PATH, or Debian's /usr/sbin/nginx (not on a non-root user's PATH).
 * @throws naming how to install it: CI installs it (tools/install-test-deps.sh), so these tests never skip.
 */
export function nginxBinary(): string {
  for (const candidate of ['nginx', '/usr/sbin/nginx']) {
    if (!spawnSync(candidate, ['-v']).error) return candidate;
  }
  throw new Error('these tests need nginx: `apt-get install nginx` (Debian), or run tools/install-test-deps.sh as CI does');
}

/**
 * Starts nginx with `serverBody` as the one `server { }` block's directives (its `listen` is
 * added), in `dir` (its prefix: config, pid, logs and temp files stay there), as an unprivileged
 * foreground process stopped by its pid; resolves once the port accepts connections.
 */
export async function startNginx(dir: string, serverBody: string): Promise<NginxProcess> {
  const bin = nginxBinary();
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  const port = await freePort();
  const tmp = join(dir, 'tmp');
  // As root (CI), workers would drop to "nobody", which cannot enter the test's 0700 directory.
  const user = process.getuid?.() === 0 ? 'user root root;' : '';
  const conf = `${user}
daemon off;
master_process on;
worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} info;
events { worker_connections 64; }
http {
  access_log ${join(dir, 'access.log')};
  client_body_temp_path ${tmp}/body;
  proxy_temp_path ${tmp}/proxy;
  fastcgi_temp_path ${tmp}/fastcgi;
  uwsgi_temp_path ${tmp}/uwsgi;
  scgi_temp_path ${tmp}/scgi;
  server {
    listen 127.0.0.1:${port} ssl;
${serverBody}
  }
}
`;
  writeFileSync(join(dir, 'nginx.conf'), conf);
  const check = spawnSync(bin, ['-t', '-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`nginx -t refused the configuration:\n${check.stderr}\n${conf}`);
  const child: ChildProcess = spawn(bin, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const errorLog = () => (existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8') : '');
  for (let attempt = 0; !(await accepts(port)); attempt++) {
    if (child.exitCode !== null || attempt > 200) {
      child.kill('SIGKILL');
      throw new Error(`nginx did not start:\n${stderr}\n${errorLog()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return {
    port,
    errorLog,
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await exited;
    },
  };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
