/**
 * End to end: `certctl agent` (the built CLI) renewing certificates through `certctl serve` over
 * mTLS — once (cron) and in the foreground across a server restart — and the real client check of
 * issue #12: nginx from Debian serving the certificate the agent renewed, reloaded by the agent's hook.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSerial } from '../../src/core/serial';
import { CERTCTL_BIN, certctl, ok, requireBuiltCli, requireTool, run, tempDir } from '../support/cli';
import { startServe, type ServeProcess } from '../support/serve';
import { freePort } from '../support/tls-check';

jest.setTimeout(240000);

/** The serial of a PEM certificate file (its first certificate), as certctl writes serials. */
function serialOf(file: string): string {
  return parseSerial(new X509Certificate(readFileSync(file)).serialNumber);
}

/** A foreground agent: its process and its log lines parsed as they come. */
interface RunningAgent {
  child: ChildProcess;
  events(): { event: string; [k: string]: unknown }[];
  /** Resolves with the first event (after the first `after` events) that `match` accepts. */
  waitFor(match: (e: { event: string; [k: string]: unknown }) => boolean, after?: number): Promise<{ event: string; [k: string]: unknown }>;
  exited: Promise<number | null>;
}

function startAgent(cwd: string, args: string[]): RunningAgent {
  const child = spawn(process.execPath, [CERTCTL_BIN, 'agent', ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  const waiters: (() => void)[] = [];
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr += chunk;
    waiters.forEach((w) => w());
  });
  const events = () =>
    stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { event: string; [k: string]: unknown });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    events,
    exited,
    waitFor: (match, after = 0) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const found = events().slice(after).find(match);
          if (found) resolve(found);
        };
        waiters.push(check);
        check();
        void exited.then(() => reject(new Error(`the agent exited before the awaited event:\n${stderr}`)));
      }),
  };
}

describe('certctl agent', () => {
  const { dir, cleanup } = tempDir('certctl-agent-');
  let server: ServeProcess;
  const agentOnce = (args: string[]) => certctl(dir, ['agent', '--server', server.url, '--once', '--json', ...args]);

  beforeAll(async () => {
    requireBuiltCli();
    requireTool('openssl', ['version']);
    ok(dir, ['init', '--cn', 'Agent Test CA']);
    server = await startServe(dir);
  });
  afterAll(async () => {
    if (server) await server.stop();
    cleanup();
  });

  it('--once --renew-before 100% renews a Docker host certificate: new serial and key, same names, key 0600, hook saw the new files', () => {
    const out = join(dir, 'docker');
    ok(dir, ['issue', 'server', '--cn', 'docker1.example', '--dns', 'docker1.example', '--ip', '10.10.10.20', '--format', 'docker', '--out', out]);
    const cert = join(out, 'server-cert.pem');
    const key = join(out, 'server-key.pem');
    const before = { serial: serialOf(cert), key: readFileSync(key, 'utf8'), x509: new X509Certificate(readFileSync(cert)) };
    const hook = 'openssl x509 -noout -serial -in "$CERTCTL_CERT_FILE" > hook-seen.txt && openssl pkey -pubout -in docker/server-key.pem >> hook-seen.txt';

    const r = agentOnce(['--cert', cert, '--key', key, '--renew-before', '100%', '--exec', hook]);
    expect(r.stderr).toMatch(/"event":"renewed"/);
    expect(r.status).toBe(0);
    expect(r.json?.result).toMatchObject({ renewed: true, previous: before.serial, hook: { exitCode: 0 } });

    const after = new X509Certificate(readFileSync(cert));
    const serial = serialOf(cert);
    expect(serial).not.toBe(before.serial);
    expect(r.json?.result.serial).toBe(serial);
    expect(after.subject).toBe(before.x509.subject);
    expect(after.subjectAltName).toBe(before.x509.subjectAltName);
    expect(readFileSync(key, 'utf8')).not.toBe(before.key);
    expect(statSync(key).mode & 0o777).toBe(0o600);
    expect(statSync(cert).mode & 0o777).toBe(0o644);
    expect(run('openssl', ['verify', '-CAfile', join(out, 'ca.pem'), '-purpose', 'sslserver', cert]).stdout).toMatch(/OK/);
    // The key file holds the key of the certificate file.
    const pub = (args: string[]) => run('openssl', args).stdout;
    expect(pub(['pkey', '-pubout', '-in', key])).toBe(pub(['x509', '-noout', '-pubkey', '-in', cert]));
    // The hook ran after both files were in place.
    const seen = readFileSync(join(dir, 'hook-seen.txt'), 'utf8');
    expect(seen).toContain(`serial=${serial}`);
    expect(seen).toContain(pub(['pkey', '-pubout', '-in', key]));
    // The server's inventory has the new certificate under the same profile.
    expect(ok(dir, ['show', serial, '--json']).json?.result).toMatchObject({ profile: 'server', commonName: 'docker1.example', hasKey: false });
  });

  it('changes nothing when the certificate is not due', () => {
    const out = join(dir, 'fresh');
    ok(dir, ['issue', 'client', '--cn', 'fresh.example', '--out', out]);
    const files = ['cert.pem', 'key.pem', 'ca.pem'].map((f) => join(out, f));
    const before = files.map((f) => readFileSync(f, 'utf8'));
    const r = agentOnce(['--cert', files[0], '--key', files[1], '--renew-before', '33%', '--exec', 'touch hook-ran-fresh']);
    expect(r.status).toBe(0);
    expect(r.json?.result).toMatchObject({ renewed: false, serial: serialOf(files[0]) });
    expect(files.map((f) => readFileSync(f, 'utf8'))).toEqual(before);
    expect(existsSync(join(dir, 'hook-ran-fresh'))).toBe(false);
  });

  it('exits 6 (backend_unavailable) when the server is down, and 7 for a revoked certificate; the files stay', async () => {
    const out = join(dir, 'refused');
    ok(dir, ['issue', 'client', '--cn', 'refused.example', '--out', out]);
    const cert = join(out, 'cert.pem');
    const key = join(out, 'key.pem');
    const before = readFileSync(cert, 'utf8');
    const down = certctl(dir, [
      'agent',
      '--server',
      `https://127.0.0.1:${await freePort()}`,
      '--once',
      '--json',
      '--cert',
      cert,
      '--key',
      key,
      '--renew-before',
      '100%',
    ]);
    expect(down.status).toBe(6);
    expect(down.json?.error?.code).toBe('backend_unavailable');

    ok(dir, ['revoke', serialOf(cert), '--reason', 'keyCompromise']);
    const revoked = agentOnce(['--cert', cert, '--key', key, '--renew-before', '100%']);
    expect(revoked.status).toBe(7);
    expect(revoked.json?.error).toMatchObject({ code: 'unauthorized' });
    expect(revoked.json?.error?.message).toMatch(/revoked/);
    expect(readFileSync(cert, 'utf8')).toBe(before);
  });

  it('reports a failed hook with exit 12 and keeps the renewal', () => {
    const out = join(dir, 'hookfail');
    ok(dir, ['issue', 'client', '--cn', 'hookfail.example', '--out', out]);
    const cert = join(out, 'cert.pem');
    const old = serialOf(cert);
    const r = agentOnce(['--cert', cert, '--key', join(out, 'key.pem'), '--renew-before', '100%', '--exec', 'echo reload failed >&2; exit 3']);
    expect(r.status).toBe(12);
    expect(r.json?.result).toMatchObject({ renewed: true, previous: old, hook: { exitCode: 3 } });
    expect(serialOf(cert)).toBe(r.json?.result.serial);
    expect(r.stderr).toMatch(/"event":"hook".*"exitCode":3.*"output":"reload failed"/);
  });

  it('in the foreground renews a short-lived certificate, keeps retrying while the server is down, renews after its restart, and exits 0 on SIGTERM', async () => {
    const out = join(dir, 'short');
    // Two minutes (plus the one-minute backdating): with --renew-before 60% it is due 12 s after issue, and each renewal likewise.
    ok(dir, ['issue', 'client', '--cn', 'short.example', '--ttl', '2m', '--out', out]);
    const cert = join(out, 'cert.pem');
    const first = serialOf(cert);
    const agent = startAgent(dir, [
      '--server',
      server.url,
      '--cert',
      cert,
      '--key',
      join(out, 'key.pem'),
      '--renew-before',
      '60%',
      '--exec',
      'echo "$CERTCTL_SERIAL" >> short-hook.txt',
    ]);
    try {
      const renewed = await agent.waitFor((e) => e.event === 'renewed');
      expect(renewed.previous).toBe(first);
      await agent.waitFor((e) => e.event === 'hook' && e.exitCode === 0);

      const port = server.port;
      expect(await server.stop()).toBe(0);
      const seen = agent.events().length;
      const failed = await agent.waitFor((e) => e.event === 'error', seen);
      expect(failed).toMatchObject({ code: 'backend_unavailable', retryable: true, exitCode: 6 });
      expect(failed.msg).toMatch(/connection refused/);

      server = await startServe(dir, {}, [], port);
      const again = await agent.waitFor((e) => e.event === 'renewed', seen);
      expect(again.previous).toBe(renewed.serial);
      await agent.waitFor((e) => e.event === 'hook' && e.serial === again.serial);
      expect(serialOf(cert)).toBe(again.serial);
      expect(readFileSync(join(dir, 'short-hook.txt'), 'utf8').trim().split('\n')).toEqual([renewed.serial, again.serial]);
    } finally {
      agent.child.kill('SIGTERM');
    }
    expect(await agent.exited).toBe(0);
    expect(agent.events().at(-1)?.event).toBe('stop');
    const text = agent
      .events()
      .map((e) => JSON.stringify(e))
      .join('\n');
    expect(text).not.toMatch(/PRIVATE KEY|BEGIN CERTIFICATE/);
  });

  describe('with nginx from Debian', () => {
    let nginx: ChildProcess | undefined;
    afterAll(async () => {
      if (nginx && nginx.exitCode === null) {
        const exited = new Promise((resolve) => nginx?.once('exit', resolve));
        nginx.kill('SIGQUIT');
        await exited;
      }
    });

    it('renews the certificate nginx serves, and the hook makes nginx serve the new one', async () => {
      requireTool('nginx', ['-v']);
      const base = join(dir, 'nginx');
      const out = join(base, 'tls');
      mkdirSync(join(base, 'logs'), { recursive: true });
      ok(dir, ['issue', 'server', '--cn', 'localhost', '--dns', 'localhost', '--ip', '127.0.0.1', '--out', out]);
      const port = await freePort();
      writeFileSync(
        join(base, 'nginx.conf'),
        `daemon off;
pid ${base}/nginx.pid;
error_log ${base}/logs/error.log;
events {}
http {
  access_log off;
  client_body_temp_path ${base}/tmp-body;
  proxy_temp_path ${base}/tmp-proxy;
  fastcgi_temp_path ${base}/tmp-fastcgi;
  uwsgi_temp_path ${base}/tmp-uwsgi;
  scgi_temp_path ${base}/tmp-scgi;
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${out}/cert.pem;
    ssl_certificate_key ${out}/key.pem;
    location / { return 200 "served\\n"; }
  }
}
`,
      );
      nginx = spawn('nginx', ['-p', base, '-c', join(base, 'nginx.conf'), '-e', join(base, 'logs', 'error.log')], { stdio: 'ignore' });
      const servedSerial = async (): Promise<string | undefined> => {
        const r = run('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost', '-CAfile', join(out, 'ca.pem')], { input: '' });
        const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(r.stdout)?.[0];
        return pem ? parseSerial(new X509Certificate(pem).serialNumber) : undefined;
      };
      // Wait for nginx to listen (no fixed sleep: poll until it answers, bounded).
      const old = serialOf(join(out, 'cert.pem'));
      for (let i = 0; i < 100 && (await servedSerial()) !== old; i++) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await servedSerial()).toBe(old);

      const r = agentOnce([
        '--cert',
        join(out, 'cert.pem'),
        '--key',
        join(out, 'key.pem'),
        '--renew-before',
        '100%',
        '--exec',
        `kill -HUP $(cat ${base}/nginx.pid)`,
      ]);
      expect(r.status).toBe(0);
      const renewed = r.json?.result.serial as string;
      expect(renewed).not.toBe(old);
      // nginx reloads asynchronously after SIGHUP: wait until it serves something else than the old certificate.
      let served = await servedSerial();
      for (let i = 0; i < 100 && served === old; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        served = await servedSerial();
      }
      expect(served).toBe(renewed);
      const curl = run('curl', ['-sS', '--cacert', join(out, 'ca.pem'), `https://localhost:${port}/`]);
      expect(curl.stdout).toBe('served\n');
      expect(readFileSync(join(base, 'logs', 'error.log'), 'utf8')).not.toMatch(/\[emerg\]/);
    });
  });
});
