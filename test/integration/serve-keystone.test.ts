/**
 * `certctl serve` (the built CLI, file backend) taking Keystone tokens, against the real Keystone
 * the suite runs: certctl validates each X-Auth-Token with its own service user (made here, with
 * the `service` role on project `service`), maps the token's roles by serve.keystone.roles, and
 * signs, refuses (403) or rejects (401); a Keystone that does not answer gives 503. Answers are
 * checked against /openapi.json, certificates with openssl.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../support/tls-check';
import { ok, opensslEcCsr, requireBuiltCli, requireTool, run, tempDir } from '../support/cli';
import { serveKeystone, serveKeystoneYaml, userToken, type KeystoneAdmin, type ServeKeystone } from '../support/keystone-admin';
import { openApiValidator } from '../support/openapi';
import { curlJson, httpsCall, startServe, type HttpsAnswer, type ServeProcess } from '../support/serve';
import { describeWithOpenStack } from '../support/servers';

jest.setTimeout(180000);

describeWithOpenStack('certctl serve with Keystone tokens', (servers) => {
  const { dir, cleanup } = tempDir('certctl-serve-keystone-');
  let ks: ServeKeystone;
  let admin: KeystoneAdmin;
  let server: ServeProcess;
  let validate: (path: string, method: string, answer: HttpsAnswer) => void;
  let signerToken: string;
  let noRoleToken: string;

  beforeAll(async () => {
    requireBuiltCli();
    requireTool('curl', ['--version']);
    requireTool('openssl', ['version']);
    ks = await serveKeystone(servers, 'sign');
    ({ admin } = ks);
    signerToken = ks.user.token;
    noRoleToken = ks.noRole.token;
    const roles = '  roles:\n    signer: { profiles: [server], names: ["*.it.example"] }\n';
    writeFileSync(join(dir, 'certctl.yaml'), `serve:\n${roles}${serveKeystoneYaml(servers, ks, dir, 'signer')}`);
    ok(dir, ['init', '--cn', 'Keystone Test CA']);
    server = await startServe(dir);
    validate = await openApiValidator(server);
  });

  afterAll(async () => {
    if (server) expect(await server.stop()).toBe(0);
    await admin?.cleanup();
    cleanup();
  });

  const csr = (cn: string) => {
    opensslEcCsr(dir, `/CN=${cn}`, `${cn}.key`, `${cn}.csr`, ['-addext', `subjectAltName=DNS:${cn}`]);
    return readFileSync(join(dir, `${cn}.csr`), 'utf8');
  };

  it('signs for a token whose role is mapped (curl with X-Auth-Token), and openssl verifies the certificate', () => {
    const r = curlJson(server, '/v1/sign', { headers: { 'X-Auth-Token': signerToken }, json: { csr: csr('web.it.example'), profile: 'server' } });
    expect(r.status).toBe(201);
    const issued = r.body;
    writeFileSync(join(dir, 'web.crt'), issued.certificate);
    expect(run('openssl', ['verify', '-CAfile', server.caFile, '-purpose', 'sslserver', join(dir, 'web.crt')]).stdout).toMatch(/OK/);
    expect(ok(dir, ['show', issued.serial, '--json']).json?.result).toMatchObject({ commonName: 'web.it.example', profile: 'server' });
  });

  it('keeps to the mapped role: another profile or a name outside it is refused 403', async () => {
    const headers = { 'X-Auth-Token': signerToken };
    const profile = await httpsCall(server, 'POST', '/v1/sign', { headers, json: { csr: csr('db.it.example'), profile: 'client' } });
    expect(profile.status).toBe(403);
    expect(profile.body.detail).toMatch(new RegExp(`keystone ${ks.user.id}`));
    const name = await httpsCall(server, 'POST', '/v1/sign', { headers, json: { csr: csr('evil.example'), profile: 'server' } });
    expect(name.status).toBe(403);
    validate('/v1/sign', 'post', name);
  });

  it('refuses 403 a valid token that holds no mapped role, and stores nothing', async () => {
    const before = ok(dir, ['list', '--json']).json?.result.length;
    const r = await httpsCall(server, 'POST', '/v1/sign', {
      headers: { 'X-Auth-Token': noRoleToken },
      json: { csr: csr('app.it.example'), profile: 'server' },
    });
    expect(r.status).toBe(403);
    expect(r.body).toMatchObject({ code: 'policy_violation', status: 403 });
    expect(r.body.detail).toMatch(/roles: none/);
    validate('/v1/sign', 'post', r);
    expect(ok(dir, ['list', '--json']).json?.result.length).toBe(before);
  });

  it('rejects 401 a token Keystone does not know, a malformed one and a revoked one, without logging any token', async () => {
    const unknown = await httpsCall(server, 'POST', '/v1/sign', { headers: { 'X-Auth-Token': `gAAAAAB${'x'.repeat(180)}` }, json: { csr: 'x' } });
    expect(unknown.status).toBe(401);
    expect(unknown.body).toMatchObject({ code: 'unauthorized', type: 'urn:certctl:problem:unauthorized' });
    expect(unknown.body.detail).toMatch(/Keystone does not accept/);
    validate('/v1/sign', 'post', unknown);
    const malformed = await httpsCall(server, 'POST', '/v1/sign', { headers: { 'X-Auth-Token': 'not a token; at all' }, json: { csr: 'x' } });
    expect(malformed.status).toBe(401);

    // A token of its own, revoked before certctl ever saw it (so no cache can answer for it).
    const demo = await admin.projectId('demo');
    const user = await admin.createUser(`it-revoked-${randomBytes(4).toString('hex')}`, demo, [await admin.ensureRole('member')]);
    const revoked = await userToken(servers.authUrl, user.name, user.password, 'demo');
    await admin.revokeToken(revoked);
    const r = await httpsCall(server, 'GET', '/v1/certs', { headers: { 'X-Auth-Token': revoked } });
    expect(r.status).toBe(401);
    for (const token of [signerToken, noRoleToken, revoked]) expect(server.log()).not.toContain(token);
  });

  it('answers 503 when Keystone cannot be reached (a server whose serve.keystone.url points at a closed port)', async () => {
    const other = tempDir('certctl-serve-keystone-down-');
    try {
      const port = await freePort();
      writeFileSync(join(other.dir, 'pw'), 'unused\n');
      writeFileSync(
        join(other.dir, 'certctl.yaml'),
        `serve:\n  roles:\n    signer: { profiles: [server] }\n  keystone:\n    url: http://127.0.0.1:${port}/v3\n    username: nobody\n    password_file: pw\n    project: service\n    timeout: 5s\n    roles: { member: signer }\n`,
      );
      ok(other.dir, ['init', '--cn', 'Keystone Down CA']);
      const down = await startServe(other.dir);
      try {
        const r = await httpsCall(down, 'POST', '/v1/sign', { headers: { 'X-Auth-Token': signerToken }, json: { csr: csr('down.it.example') } });
        expect(r.status).toBe(503);
        expect(r.body).toMatchObject({ code: 'backend_unavailable' });
        expect(r.body.detail).toMatch(/cannot reach Keystone at http:\/\/127\.0\.0\.1:\d+ \(connection refused\)/);
        expect(down.log()).not.toContain(signerToken);
      } finally {
        expect(await down.stop()).toBe(0);
      }
    } finally {
      other.cleanup();
    }
  });

  it('says so when a token is sent to a server that takes none (401), and the public endpoints need no token', async () => {
    const ca = await httpsCall(server, 'GET', '/v1/ca');
    expect(ca.status).toBe(200);
    const plain = tempDir('certctl-serve-no-keystone-');
    try {
      ok(plain.dir, ['init', '--cn', 'No Keystone CA']);
      const noKeystone = await startServe(plain.dir);
      try {
        const r = await httpsCall(noKeystone, 'POST', '/v1/sign', { headers: { 'X-Auth-Token': signerToken }, json: { csr: csr('x.it.example') } });
        expect(r.status).toBe(401);
        expect(r.body.detail).toMatch(/serve\.keystone is not configured/);
      } finally {
        expect(await noKeystone.stop()).toBe(0);
      }
    } finally {
      plain.cleanup();
    }
  });
});
