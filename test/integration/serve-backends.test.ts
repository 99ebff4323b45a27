/**
 * `certctl serve` over the real backends (the built CLI, real Vault-API and Keystone + Barbican
 * servers): the same requests signed, renewed and revoked over Vault (PKI signs, KV stores), over
 * Barbican, and over a mixed signer/store configuration; and two instances over one Vault serving
 * one CA, a revocation through one refused at once by the other.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ok, opensslEcCsr, requireBuiltCli, run, tempDir } from '../support/cli';
import { httpsCall, startServe, type ServeProcess } from '../support/serve';
import { describeWithOpenStack, describeWithVault, freshPrefix, vaultCurl, vaultEnv, type OpenStackServers, type VaultServer } from '../support/servers';

jest.setTimeout(300000);

const ROLES = `serve:
  roles:
    admin: { admin: true }
  clients:
    - { cn: ops-admin, role: admin }
`;

function vaultSection(id: string): string {
  return `vault:\n  pki_mount: pki-serve-${id}\n  kv_mount: secret\n  kv_prefix: certctl-serve-${id}\n`;
}

function barbicanSection(s: OpenStackServers, prefix: string): string {
  return `barbican:\n  endpoint: ${s.noauthEndpoint}\n  name_prefix: ${prefix}\n  auth:\n    method: noauth\n    project_id: ${s.noauthProject}\n`;
}

/** Sets up a CA and an admin client certificate in `dir` with the given certctl.yaml, then runs the shared checks against a server. */
function serverChecks(name: string, yaml: () => string, env: () => Record<string, string>, expectSigner: string, renewsWithoutCsr: boolean): void {
  describe(name, () => {
    const t = tempDir('certctl-serve-it-');
    const dir = t.dir;
    let server: ServeProcess;
    const admin = { cert: join(dir, 'admin', 'cert.pem'), key: join(dir, 'admin', 'key.pem') };

    beforeAll(async () => {
      requireBuiltCli();
      writeFileSync(join(dir, 'certctl.yaml'), yaml());
      ok(dir, ['init', '--cn', `${name} CA`], env());
      ok(dir, ['issue', 'client', '--cn', 'ops-admin', '--out', join(dir, 'admin')], env());
      server = await startServe(dir, env());
    });
    afterAll(async () => {
      if (server) expect(await server.stop()).toBe(0);
      t.cleanup();
    });

    it(`reports the ${expectSigner} signer in /health and signs a CSR that openssl verifies`, async () => {
      const health = await httpsCall(server, 'GET', '/health');
      expect(health.body).toMatchObject({ status: 'ok', signer: expectSigner });
      opensslEcCsr(dir, '/CN=svc.example', 'svc.key', 'svc.csr', ['-addext', 'subjectAltName=DNS:svc.example']);
      const r = await httpsCall(server, 'POST', '/v1/sign', {
        ...admin,
        json: { csr: readFileSync(join(dir, 'svc.csr'), 'utf8'), profile: 'server', ttl: '48h' },
      });
      expect(r.status).toBe(201);
      writeFileSync(join(dir, 'svc.crt'), r.body.certificate);
      expect(run('openssl', ['verify', '-CAfile', server.caFile, join(dir, 'svc.crt')]).stdout).toMatch(/OK/);
      expect(ok(dir, ['show', r.body.serial, '--json'], env()).json?.result.dnsNames).toEqual(['svc.example']);
    });

    it(renewsWithoutCsr ? 'renews the admin certificate with the same key' : 'asks for a CSR to renew (a remote CA signs only CSRs), then rekeys', async () => {
      const same = await httpsCall(server, 'POST', '/v1/renew', { ...admin, json: {} });
      if (renewsWithoutCsr) {
        expect(same.status).toBe(201);
      } else {
        expect(same.status).toBe(400);
        expect(same.body.code).toBe('not_supported');
      }
      opensslEcCsr(dir, '/CN=ops-admin', 'admin2.key', 'admin2.csr');
      const rekey = await httpsCall(server, 'POST', '/v1/renew', { ...admin, json: { csr: readFileSync(join(dir, 'admin2.csr'), 'utf8') } });
      expect(rekey.status).toBe(201);
      expect(rekey.body.profile).toBe('client');
    });

    it('revokes through the API; the revoked certificate is refused for mTLS at once', async () => {
      ok(dir, ['issue', 'client', '--cn', 'temp', '--out', join(dir, 'temp')], env());
      const temp = { cert: join(dir, 'temp', 'cert.pem'), key: join(dir, 'temp', 'key.pem') };
      const serial = run('openssl', ['x509', '-noout', '-serial', '-in', temp.cert]).stdout.trim().split('=')[1];
      const revoked = await httpsCall(server, 'POST', '/v1/revoke', { ...admin, json: { serial, reason: 'superseded' } });
      expect(revoked.status).toBe(200);
      expect(ok(dir, ['show', serial, '--json'], env()).json?.result.status).toBe('revoked');
      const refused = await httpsCall(server, 'POST', '/v1/renew', { ...temp, json: {} });
      expect(refused.status).toBe(401);
    });
  });
}

describeWithVault('certctl serve over Vault (real Vault-API server)', (vault: VaultServer) => {
  const id = randomBytes(4).toString('hex');
  afterAll(() => vaultCurl(vault, 'DELETE', `sys/mounts/pki-serve-${id}`));
  serverChecks(
    'vault',
    () => `backend: vault\n${vaultSection(id)}${ROLES}`,
    () => vaultEnv(vault),
    'vault-pki',
    false,
  );

  describe('two instances over one Vault', () => {
    const t = tempDir('certctl-serve-two-');
    const dir = t.dir;
    const id2 = randomBytes(4).toString('hex');
    let a: ServeProcess;
    let b: ServeProcess;
    const env = () => vaultEnv(vault);
    beforeAll(async () => {
      writeFileSync(join(dir, 'certctl.yaml'), `backend: vault\n${vaultSection(id2)}${ROLES}`);
      ok(dir, ['init', '--cn', 'Two Instances CA'], env());
      ok(dir, ['issue', 'client', '--cn', 'ops-admin', '--out', join(dir, 'admin')], env());
      ok(dir, ['issue', 'client', '--cn', 'worker', '--out', join(dir, 'worker')], env());
      [a, b] = [await startServe(dir, env()), await startServe(dir, env())];
    });
    afterAll(async () => {
      for (const s of [a, b]) if (s) expect(await s.stop()).toBe(0);
      vaultCurl(vault, 'DELETE', `sys/mounts/pki-serve-${id2}`);
      t.cleanup();
    });

    it('serve one CA: a revocation through one instance is refused at once by the other', async () => {
      const admin = { cert: join(dir, 'admin', 'cert.pem'), key: join(dir, 'admin', 'key.pem') };
      const worker = { cert: join(dir, 'worker', 'cert.pem'), key: join(dir, 'worker', 'key.pem') };
      expect((await httpsCall(a, 'GET', '/v1/ca')).body.certificate).toBe((await httpsCall(b, 'GET', '/v1/ca')).body.certificate);
      opensslEcCsr(dir, '/CN=worker', 'w2.key', 'w2.csr');
      const before = await httpsCall(b, 'POST', '/v1/renew', { ...worker, json: { csr: readFileSync(join(dir, 'w2.csr'), 'utf8') } });
      expect(before.status).toBe(201);
      const serial = run('openssl', ['x509', '-noout', '-serial', '-in', worker.cert]).stdout.trim().split('=')[1];
      expect((await httpsCall(a, 'POST', '/v1/revoke', { ...admin, json: { serial, reason: 'keyCompromise' } })).status).toBe(200);
      const after = await httpsCall(b, 'POST', '/v1/renew', { ...worker, json: { csr: readFileSync(join(dir, 'w2.csr'), 'utf8') } });
      expect(after.status).toBe(401);
      expect(after.body.detail).toMatch(/revoked \(keyCompromise\)/);
      // The certificate signed by instance B is in the inventory instance A reads.
      const listed = await httpsCall(a, 'GET', `/v1/certs/${before.body.serial}`, admin);
      expect(listed.status).toBe(200);
    });
  });
});

describeWithOpenStack('certctl serve over Barbican (real Keystone + Barbican)', (os) => {
  const prefix = freshPrefix();
  serverChecks(
    'barbican',
    () => `backend: barbican\n${barbicanSection(os, prefix)}${ROLES}`,
    () => ({}),
    'local',
    true,
  );
});

describeWithVault('certctl serve, mixed', (vault) =>
  describeWithOpenStack('signer: vault, store: barbican', (os) => {
    const id = randomBytes(4).toString('hex');
    const prefix = freshPrefix();
    afterAll(() => vaultCurl(vault, 'DELETE', `sys/mounts/pki-serve-${id}`));
    serverChecks(
      'mixed',
      () => `signer: vault\nstore: barbican\n${vaultSection(id)}${barbicanSection(os, prefix)}${ROLES}`,
      () => vaultEnv(vault),
      'vault-pki',
      false,
    );
  }),
);
