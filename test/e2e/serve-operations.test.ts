/**
 * Running `certctl serve` (the built CLI): limits (a client that never finishes its headers, the
 * per-client request rate), SIGHUP (certctl.yaml and the TLS certificate reloaded), SIGTERM
 * (requests in flight finish, exit 0), and a bad serve section refused at start.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { certctl, ok, opensslEcCsr, requireBuiltCli, run, tempDir } from '../support/cli';
import { httpsCall, startServe, type ServeProcess } from '../support/serve';

jest.setTimeout(120000);

const BASE = `serve:
  limits: { header_timeout: 2s, requests_per_minute: 40 }
  roles:
    admin: { admin: true }
  clients:
    - { cn: ops-admin, role: admin }
`;

/** The serial of the certificate the server presents, as openssl prints it. */
function servedSerial(server: ServeProcess): string {
  const r = run('openssl', ['s_client', '-connect', `127.0.0.1:${server.port}`, '-CAfile', server.caFile], { input: '' });
  return run('openssl', ['x509', '-noout', '-serial'], { input: r.stdout }).stdout.trim();
}

describe('operating certctl serve', () => {
  const { dir, cleanup } = tempDir('certctl-serve-ops-');
  let server: ServeProcess;
  const admin = { cert: join(dir, 'admin', 'cert.pem'), key: join(dir, 'admin', 'key.pem') };
  const other = { cert: join(dir, 'other', 'cert.pem'), key: join(dir, 'other', 'key.pem') };

  beforeAll(async () => {
    requireBuiltCli();
    writeFileSync(join(dir, 'certctl.yaml'), BASE);
    ok(dir, ['init', '--cn', 'Ops CA']);
    ok(dir, ['issue', 'client', '--cn', 'ops-admin', '--out', join(dir, 'admin')]);
    ok(dir, ['issue', 'client', '--cn', 'auditor', '--out', join(dir, 'other')]);
    server = await startServe(dir);
  });
  afterAll(async () => {
    if (server) await server.stop();
    cleanup();
  });

  it('closes the connection of a client that never finishes its headers', async () => {
    const closed = await new Promise<string>((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port: server.port, ca: readFileSync(server.caFile) }, () => {
        socket.write('GET /v1/ca HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
      });
      let answer = '';
      socket.on('data', (d: Buffer) => (answer += d.toString()));
      socket.on('error', reject);
      socket.on('close', () => resolve(answer));
      setTimeout(() => reject(new Error('the server kept a client with unfinished headers for 30 s')), 30000).unref();
    });
    expect(closed).toMatch(/^HTTP\/1\.1 408/);
    // The server still serves others.
    expect((await httpsCall(server, 'GET', '/health')).status).toBe(200);
  });

  it('reloads certctl.yaml and its TLS certificate on SIGHUP', async () => {
    expect((await httpsCall(server, 'GET', '/v1/certs', other)).status).toBe(403);
    const before = servedSerial(server);
    writeFileSync(join(dir, 'certctl.yaml'), `${BASE}    - { cn: auditor, role: admin }\n`);
    server.child.kill('SIGHUP');
    for (let i = 0; i < 100 && !server.log().includes('configuration reloaded'); i++) await new Promise((r) => setTimeout(r, 50));
    expect(server.log()).toContain('configuration reloaded (SIGHUP)');
    expect((await httpsCall(server, 'GET', '/v1/certs', other)).status).toBe(200);
    expect(servedSerial(server)).not.toBe(before);
  });

  it('keeps running with the old configuration when the new one is bad', async () => {
    writeFileSync(join(dir, 'certctl.yaml'), `${BASE}    - { cn: auditor, role: no-such-role }\n`);
    server.child.kill('SIGHUP');
    for (let i = 0; i < 100 && !server.log().includes('the new configuration was refused'); i++) await new Promise((r) => setTimeout(r, 50));
    expect(server.log()).toMatch(/serve\.clients\.1\.role: no role \\"no-such-role\\"/);
    expect((await httpsCall(server, 'GET', '/v1/certs', other)).status).toBe(200);
    writeFileSync(join(dir, 'certctl.yaml'), BASE);
  });

  it('answers 429 with a problem document past the per-client rate', async () => {
    const answers = [];
    for (let i = 0; i < 60 && answers.at(-1)?.status !== 429; i++) answers.push(await httpsCall(server, 'GET', '/v1/ca'));
    const limited = answers[answers.length - 1];
    expect(limited.status).toBe(429);
    expect(limited.body).toMatchObject({ status: 429, code: 'backend_unavailable' });
    expect(limited.headers['retry-after']).toBeDefined();
  });

  it('finishes a request in flight on SIGTERM, then exits 0', async () => {
    // A fresh server: the rate limit of the test above is per process.
    await server.stop();
    server = await startServe(dir);
    opensslEcCsr(dir, '/CN=late.example', 'late.key', 'late.csr', ['-addext', 'subjectAltName=DNS:late.example']);
    const body = Buffer.from(JSON.stringify({ csr: readFileSync(join(dir, 'late.csr'), 'utf8'), profile: 'server' }));
    const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = httpsRequest(
        `${server.url}/v1/sign`,
        {
          method: 'POST',
          ca: readFileSync(server.caFile),
          cert: readFileSync(admin.cert),
          key: readFileSync(admin.key),
          headers: { 'content-type': 'application/json', 'content-length': String(body.length) },
        },
        (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject);
      // Half the body now; the rest after SIGTERM has reached the server.
      req.write(body.subarray(0, 100));
      setTimeout(() => {
        server.child.kill('SIGTERM');
        setTimeout(() => req.end(body.subarray(100)), 300);
      }, 300);
    });
    const exit = new Promise<number | null>((resolve) => server.child.once('exit', (code) => resolve(code)));
    const r = await answer;
    expect(r.status).toBe(201);
    expect(JSON.parse(r.text).certificate).toMatch(/BEGIN CERTIFICATE/);
    expect(await exit).toBe(0);
  });

  it('refuses to start with a bad serve section, naming the key (exit 3)', () => {
    const bad = tempDir('certctl-serve-bad-');
    try {
      ok(bad.dir, ['init', '--cn', 'Bad CA']);
      writeFileSync(join(bad.dir, 'certctl.yaml'), 'serve:\n  listen: nowhere\n');
      const r = certctl(bad.dir, ['serve']);
      expect(r.status).toBe(3);
      expect(r.stderr).toMatch(/serve\.listen: expected HOST:PORT/);
      writeFileSync(join(bad.dir, 'certctl.yaml'), 'serve:\n  limits: { body_bytes: -1 }\n');
      const r2 = certctl(bad.dir, ['serve']);
      expect(r2.status).toBe(3);
      expect(r2.stderr).toMatch(/serve\.limits\.body_bytes/);
      const missingCa = tempDir('certctl-serve-noca-');
      try {
        const r3 = certctl(missingCa.dir, ['serve']);
        expect(r3.status).toBe(4);
        expect(r3.stderr).toMatch(/init/);
      } finally {
        missingCa.cleanup();
      }
    } finally {
      bad.cleanup();
    }
  });
});
