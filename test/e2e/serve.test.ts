/**
 * End to end: `certctl serve` (the built CLI) on the file backend, called with curl and Node's
 * HTTPS client over real TLS, with mTLS client certificates the CA issued; every answer checked
 * against the server's own /openapi.json; issued certificates checked by openssl.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ok, opensslEcCsr, requireBuiltCli, requireTool, run, tempDir } from '../support/cli';
import { openApiValidator } from '../support/openapi';
import { httpsCall, startServe, type HttpsAnswer, type ServeProcess } from '../support/serve';

jest.setTimeout(120000);

const CONFIG = `
serve:
  roles:
    admin: { admin: true }
    nodes: { profiles: [server, client], names: ["*.nodes.example"] }
  clients:
    - { cn: ops-admin, role: admin }
    - { cn: "*.nodes.example", role: nodes }
`;

describe('certctl serve (file backend)', () => {
  const { dir, cleanup } = tempDir('certctl-serve-');
  let server: ServeProcess;
  let validate: (path: string, method: string, answer: HttpsAnswer) => void;
  const client = (name: string) => ({ cert: join(dir, name, 'cert.pem'), key: join(dir, name, 'key.pem') });

  beforeAll(async () => {
    requireBuiltCli();
    requireTool('curl', ['--version']);
    requireTool('openssl', ['version']);
    writeFileSync(join(dir, 'certctl.yaml'), CONFIG);
    ok(dir, ['init', '--cn', 'Serve Test CA']);
    ok(dir, ['issue', 'client', '--cn', 'ops-admin', '--out', join(dir, 'admin')]);
    // A peer certificate (serverAuth + clientAuth): only client certificates hold roles.
    ok(dir, ['issue', 'peer', '--cn', 'web1.nodes.example', '--dns', 'web1.nodes.example', '--out', join(dir, 'web1')]);
    ok(dir, ['issue', 'server', '--cn', 'srv1.nodes.example', '--dns', 'srv1.nodes.example', '--out', join(dir, 'srv1')]);
    ok(dir, ['issue', 'client', '--cn', 'nobody', '--out', join(dir, 'nobody')]);
    server = await startServe(dir);
    validate = await openApiValidator(server);
  });
  afterAll(async () => {
    if (server) expect(await server.stop()).toBe(0);
    cleanup();
  });

  it('serves the CA certificate to curl, matching `certctl ca show`', () => {
    const r = run('curl', ['-sS', '--cacert', server.caFile, `${server.url}/v1/ca`]);
    expect(r.status).toBe(0);
    const body = JSON.parse(r.stdout);
    expect(body.certificate).toBe(readFileSync(server.caFile, 'utf8'));
    const fp = run('openssl', ['x509', '-noout', '-fingerprint', '-sha256', '-in', server.caFile]).stdout.trim().split('=')[1];
    expect(body.sha256).toBe(fp);
  });

  it('answers /health and /metrics; its TLS certificate names 127.0.0.1 and localhost and chains to the CA', async () => {
    const health = run('curl', ['-sS', '--cacert', server.caFile, `https://localhost:${server.port}/health`]);
    expect(JSON.parse(health.stdout)).toMatchObject({ status: 'ok', store: 'file' });
    const metrics = await httpsCall(server, 'GET', '/metrics');
    expect(metrics.text).toMatch(/certctl_http_request_duration_seconds_bucket/);
    const tls = run('openssl', ['s_client', '-connect', `127.0.0.1:${server.port}`, '-CAfile', server.caFile, '-verify_return_error', '-tls1_2'], {
      input: '',
    });
    expect(tls.stdout).toMatch(/Verify return code: 0 \(ok\)/);
  });

  it('refuses TLS 1.1', () => {
    const r = run('openssl', ['s_client', '-connect', `127.0.0.1:${server.port}`, '-tls1_1'], { input: '' });
    expect(r.stderr).toMatch(/alert protocol version/);
    expect(r.stdout).toMatch(/Cipher is \(NONE\)/);
  });

  it('signs a CSR for an admin over mTLS (curl), and the certificate verifies with openssl', () => {
    opensslEcCsr(dir, '/CN=api.example', 'api.key', 'api.csr', ['-addext', 'subjectAltName=DNS:api.example']);
    const body = JSON.stringify({ csr: readFileSync(join(dir, 'api.csr'), 'utf8'), profile: 'server', ttl: '24h' });
    const a = client('admin');
    const r = run('curl', [
      '-sS',
      '-w',
      '\n%{http_code}',
      '--cacert',
      server.caFile,
      '--cert',
      a.cert,
      '--key',
      a.key,
      '-H',
      'content-type: application/json',
      '-d',
      body,
      `${server.url}/v1/sign`,
    ]);
    const [json, code] = [r.stdout.slice(0, r.stdout.lastIndexOf('\n')), r.stdout.slice(r.stdout.lastIndexOf('\n') + 1)];
    expect(code).toBe('201');
    const issued = JSON.parse(json);
    writeFileSync(join(dir, 'api.crt'), issued.certificate);
    expect(run('openssl', ['verify', '-CAfile', server.caFile, '-purpose', 'sslserver', join(dir, 'api.crt')]).stdout).toMatch(/OK/);
    const listed = ok(dir, ['show', issued.serial, '--json']).json?.result;
    expect(listed).toMatchObject({ serial: issued.serial, profile: 'server', dnsNames: ['api.example'] });
  });

  it('lets a role sign only its profiles and names (success and refusal), and stores nothing refused', async () => {
    const w = client('web1');
    opensslEcCsr(dir, '/CN=db1.nodes.example', 'db1.key', 'db1.csr', ['-addext', 'subjectAltName=DNS:db1.nodes.example']);
    const good = await httpsCall(server, 'POST', '/v1/sign', { ...w, json: { csr: readFileSync(join(dir, 'db1.csr'), 'utf8'), profile: 'server' } });
    expect(good.status).toBe(201);
    validate('/v1/sign', 'post', good);

    const before = ok(dir, ['list', '--json']).json?.result.length;
    opensslEcCsr(dir, '/CN=evil.example', 'evil.key', 'evil.csr', ['-addext', 'subjectAltName=DNS:evil.example']);
    const names = await httpsCall(server, 'POST', '/v1/sign', { ...w, json: { csr: readFileSync(join(dir, 'evil.csr'), 'utf8'), profile: 'server' } });
    expect(names.status).toBe(403);
    expect(names.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(names.body).toMatchObject({ code: 'policy_violation', status: 403 });
    expect(names.body.detail).toMatch(/evil\.example/);
    validate('/v1/sign', 'post', names);
    const profile = await httpsCall(server, 'POST', '/v1/sign', { ...w, json: { csr: readFileSync(join(dir, 'db1.csr'), 'utf8'), profile: 'peer' } });
    expect(profile.status).toBe(403);
    const nobody = await httpsCall(server, 'POST', '/v1/sign', {
      ...client('nobody'),
      json: { csr: readFileSync(join(dir, 'db1.csr'), 'utf8'), profile: 'server' },
    });
    expect(nobody.status).toBe(403);
    expect(ok(dir, ['list', '--json']).json?.result.length).toBe(before);
  });

  it('refuses a caller without a client certificate (401) and bad input (400, 413), each a problem document', async () => {
    const none = await httpsCall(server, 'POST', '/v1/sign', { json: { csr: 'x' } });
    expect(none.status).toBe(401);
    expect(none.body).toMatchObject({ code: 'unauthorized', type: 'urn:certctl:problem:unauthorized' });
    const a = client('admin');
    const malformed = await httpsCall(server, 'POST', '/v1/sign', { ...a, body: '{"csr": ', contentType: 'application/json' });
    expect(malformed.status).toBe(400);
    expect(malformed.body.code).toBe('invalid_input');
    const badCsr = await httpsCall(server, 'POST', '/v1/sign', {
      ...a,
      json: { csr: '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----' },
    });
    expect(badCsr.status).toBe(400);
    expect(badCsr.body.code).toBe('invalid_input');
    const unknownField = await httpsCall(server, 'POST', '/v1/sign', { ...a, json: { csr: 'x', admin: true } });
    expect(unknownField.status).toBe(400);
    const huge = await httpsCall(server, 'POST', '/v1/sign', { ...a, json: { csr: 'A'.repeat(200 * 1024) } });
    expect(huge.status).toBe(413);
    expect(huge.body.code).toBe('invalid_input');
    for (const answer of [none, malformed, badCsr, huge]) validate('/v1/sign', 'post', answer);
  });

  it('renews a server certificate over mTLS (its EKU is serverAuth only): same names and key, new serial and validity', async () => {
    const w = client('srv1');
    const old = readFileSync(w.cert, 'utf8');
    const r = await httpsCall(server, 'POST', '/v1/renew', { ...w, json: {} });
    expect(r.status).toBe(201);
    validate('/v1/renew', 'post', r);
    const renewed = new X509Certificate(r.body.certificate as string);
    const previous = new X509Certificate(old);
    expect(renewed.subjectAltName).toBe(previous.subjectAltName);
    expect(renewed.publicKey.export({ type: 'spki', format: 'der' })).toEqual(previous.publicKey.export({ type: 'spki', format: 'der' }));
    expect(renewed.serialNumber).not.toBe(previous.serialNumber);
    expect(r.body.profile).toBe('server');
  });

  it('rekeys with a CSR of the same names and refuses one with other names', async () => {
    const w = client('web1');
    opensslEcCsr(dir, '/CN=web1.nodes.example', 'web1-new.key', 'web1-new.csr', ['-addext', 'subjectAltName=DNS:web1.nodes.example']);
    const r = await httpsCall(server, 'POST', '/v1/renew', { ...w, json: { csr: readFileSync(join(dir, 'web1-new.csr'), 'utf8') } });
    expect(r.status).toBe(201);
    writeFileSync(join(dir, 'web1-new.crt'), r.body.certificate);
    const modulus = (args: string[]) => run('openssl', args).stdout;
    expect(modulus(['x509', '-noout', '-pubkey', '-in', join(dir, 'web1-new.crt')])).toBe(modulus(['pkey', '-pubout', '-in', join(dir, 'web1-new.key')]));
    const other = await httpsCall(server, 'POST', '/v1/renew', { ...w, json: { csr: readFileSync(join(dir, 'db1.csr'), 'utf8') } });
    expect(other.status).toBe(403);
    expect(other.body.detail).toMatch(/keeps the certificate's CN/);
    const anonymous = await httpsCall(server, 'POST', '/v1/renew', { json: {} });
    expect(anonymous.status).toBe(401);
  });

  it('shows the inventory to admins only', async () => {
    const list = await httpsCall(server, 'GET', '/v1/certs?expiring=3650d', client('admin'));
    expect(list.status).toBe(200);
    validate('/v1/certs', 'get', list);
    expect(list.body.certificates.some((c: { commonName: string }) => c.commonName === 'web1.nodes.example')).toBe(true);
    const one = await httpsCall(server, 'GET', `/v1/certs/${list.body.certificates[0].serial}`, client('admin'));
    expect(one.status).toBe(200);
    expect(one.body.certificate).toMatch(/BEGIN CERTIFICATE/);
    const refused = await httpsCall(server, 'GET', '/v1/certs', client('web1'));
    expect(refused.status).toBe(403);
    const missing = await httpsCall(server, 'GET', '/v1/certs/0ABC', client('admin'));
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe('not_found');
  });

  it('revokes: the holder its own certificate, not another; then that certificate is refused for mTLS', async () => {
    ok(dir, ['issue', 'client', '--cn', 'leaving.nodes.example', '--out', join(dir, 'leaving')]);
    const l = client('leaving');
    const serial = run('openssl', ['x509', '-noout', '-serial', '-in', l.cert]).stdout.trim().split('=')[1];
    const adminSerial = run('openssl', ['x509', '-noout', '-serial', '-in', client('admin').cert])
      .stdout.trim()
      .split('=')[1];
    const notOwn = await httpsCall(server, 'POST', '/v1/revoke', { ...l, json: { serial: adminSerial } });
    expect(notOwn.status).toBe(403);
    const own = await httpsCall(server, 'POST', '/v1/revoke', { ...l, json: { serial, reason: 'cessationOfOperation' } });
    expect(own.status).toBe(200);
    validate('/v1/revoke', 'post', own);
    expect(own.body).toMatchObject({ serial, status: 'revoked', revocationReason: 'cessationOfOperation' });
    const after = await httpsCall(server, 'POST', '/v1/renew', { ...l, json: {} });
    expect(after.status).toBe(401);
    expect(after.body.detail).toMatch(/revoked/);
  });

  it('refuses a client certificate from another CA', async () => {
    const other = tempDir('certctl-other-');
    try {
      ok(other.dir, ['init', '--cn', 'Other CA']);
      ok(other.dir, ['issue', 'client', '--cn', 'ops-admin', '--out', join(other.dir, 'admin')]);
      const r = await httpsCall(server, 'GET', '/v1/certs', { cert: join(other.dir, 'admin', 'cert.pem'), key: join(other.dir, 'admin', 'key.pem') });
      expect(r.status).toBe(401);
      expect(r.body.detail).toMatch(/not issued by a CA of this server/);
    } finally {
      other.cleanup();
    }
  });

  it('logs one JSON line per request with its id, and no key or certificate material', async () => {
    const r = await httpsCall(server, 'GET', '/v1/ca');
    const id = r.headers['x-request-id'] as string;
    const linesOf = () =>
      server
        .log()
        .split('\n')
        .filter((l) => l.includes(id));
    // The line is written once the answer has gone out: wait for it to reach the pipe.
    for (let i = 0; i < 50 && linesOf().length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    const lines = linesOf();
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({ reqId: id, route: '/v1/ca', status: 200 });
    expect(server.log()).not.toMatch(/PRIVATE KEY|BEGIN CERTIFICATE/);
  });
});
