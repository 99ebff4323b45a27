/**
 * certctl --backend vault as an operator runs it, against a real Vault-API server (over TLS
 * when the test server has it): every command, openssl verifying chains and the CRL, a real
 * mTLS handshake, then Vault's API read with curl to see what was stored where.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { certctl, ok, run, tempDir, opensslEcCsr } from '../support/cli';
import { describeWithVault, vaultCurl, vaultEnv, writeVaultConfig } from '../support/servers';
import { mtlsHandshake, privateKeyFilesUnder } from '../support/tls-check';

jest.setTimeout(180000);

describeWithVault('certctl --backend vault (real Vault-API server)', (vault) => {
  const t = tempDir('certctl-vault-e2e-');
  const dir = t.dir;
  const { pkiMount, kvPrefix } = writeVaultConfig(dir, 'urls:\n  crl: ["http://crl.example/root.crl"]\n');
  const env = vaultEnv(vault);
  const serials: Record<string, string> = {};

  afterAll(() => {
    vaultCurl(vault, 'DELETE', `sys/mounts/${pkiMount}`);
    t.cleanup();
  });

  it('init enables and tunes the PKI mount, generates the root inside Vault and says what it did; a second init is refused', () => {
    const r = ok(dir, ['init', '--cn', 'Vault E2E Root'], env);
    expect(r.stderr).toContain(`enabled the PKI secrets engine at ${pkiMount}/`);
    expect(r.stderr).toContain('its key never leaves Vault');
    expect(r.stderr).toContain('wrote the roles certctl signs default');
    expect(vaultCurl(vault, 'GET', `${pkiMount}/roles/certctl-default-server-sig`).json.data.basic_constraints_valid_for_non_ca).toBe(true);
    const mount = vaultCurl(vault, 'GET', `sys/mounts/${pkiMount}/tune`);
    expect(mount.json.data.max_lease_ttl).toBeGreaterThanOrEqual(10 * 365 * 86400);
    const again = certctl(dir, ['init', '--cn', 'Vault E2E Root'], env);
    expect(again.status).toBe(8);
    // Another CA on the same mount reuses it.
    const second = ok(dir, ['--ca', 'second', 'init', '--cn', 'Second Root'], env);
    expect(second.stderr).toContain(`using the existing PKI mount ${pkiMount}/`);
    writeFileSync(join(dir, 'ca.pem'), ok(dir, ['ca', 'show'], env).stdout);
    expect(readFileSync(join(dir, 'ca.pem'), 'utf8')).toBe(`${vaultCurl(vault, 'GET', `${pkiMount}/issuer/certctl-default`).json.data.certificate.trim()}\n`);
  });

  it('issue server and client, sign a CSR: Vault signs exactly the DESIGN.md profiles, openssl verifies', () => {
    serials.server = ok(
      dir,
      ['issue', 'server', '--cn', 'localhost', '--dns', 'localhost', '--ip', '127.0.0.1', '--ttl', '90d', '--out', 'srv', '--json'],
      env,
    ).json!.result.certificates[0].serial;
    serials.client = ok(dir, ['issue', 'client', '--cn', 'alice', '--key-type', 'rsa-2048', '--out', 'cli', '--json'], env).json!.result.certificates[0].serial;
    opensslEcCsr(dir, '/CN=bob', join(dir, 'bob.key'), join(dir, 'bob.csr'));
    writeFileSync(join(dir, 'bob.crt'), ok(dir, ['sign', '--csr', 'bob.csr'], env).stdout);
    for (const cert of ['srv/cert.pem', 'cli/cert.pem', 'bob.crt']) {
      expect(run('openssl', ['verify', '-CAfile', join(dir, 'ca.pem'), join(dir, cert)]).stdout.trim()).toBe(`${join(dir, cert)}: OK`);
    }
    const server = run('openssl', [
      'x509',
      '-in',
      join(dir, 'srv/cert.pem'),
      '-noout',
      '-text',
      '-ext',
      'keyUsage,extendedKeyUsage,subjectAltName,basicConstraints',
    ]).stdout;
    expect(server).toMatch(/Key Usage: critical\s+Digital Signature\s/);
    expect(server).not.toContain('Key Encipherment'); // an EC key: digitalSignature only
    expect(server).toMatch(/Extended Key Usage:\s+TLS Web Server Authentication\s/);
    expect(server).toContain('DNS:localhost, IP Address:127.0.0.1');
    expect(server).toMatch(/Basic Constraints: critical\s+CA:FALSE/);
    const client = run('openssl', ['x509', '-in', join(dir, 'cli/cert.pem'), '-noout', '-ext', 'keyUsage,extendedKeyUsage']).stdout;
    expect(client).toMatch(/Digital Signature, Key Encipherment/); // RSA adds keyEncipherment
    expect(client).toMatch(/TLS Web Client Authentication/);
    // The lifetime asked for, not Vault's default.
    const days = (Date.parse(run('openssl', ['x509', '-in', join(dir, 'srv/cert.pem'), '-noout', '-enddate']).stdout.split('=')[1]) - Date.now()) / 86400000;
    expect(Math.round(days)).toBe(90);
    expect(run('openssl', ['x509', '-in', join(dir, 'srv/cert.pem'), '-noout', '-ext', 'crlDistributionPoints']).stdout).toContain(
      'http://crl.example/root.crl',
    );
  });

  it('the certificates work in a real mutual-TLS handshake (openssl s_server + curl)', async () => {
    const r = await mtlsHandshake({
      caFile: join(dir, 'ca.pem'),
      serverCert: join(dir, 'srv/cert.pem'),
      serverKey: join(dir, 'srv/key.pem'),
      clientCert: join(dir, 'cli/cert.pem'),
      clientKey: join(dir, 'cli/key.pem'),
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('list, show, renew and export come from KV; Vault knows every serial', () => {
    const listed = ok(dir, ['list', '--json'], env).json!.result;
    expect(listed).toHaveLength(3);
    const vaultSerials = (vaultCurl(vault, 'LIST', `${pkiMount}/certs`).json.data.keys as string[]).map((s) => s.replace(/:/g, '').toUpperCase());
    for (const r of listed) expect(vaultSerials).toContain(r.serial);
    expect(ok(dir, ['show', serials.server, '--json'], env).json!.result.dnsNames).toEqual(['localhost']);
    expect(ok(dir, ['list', '--expiring', '100d', '--json'], env).json!.result.map((r: any) => r.serial)).toEqual([serials.server]);
    const renewed = ok(dir, ['renew', serials.server, '--out', 'srv2', '--json'], env).json!.result.certificate.serial;
    expect(renewed).not.toBe(serials.server);
    expect(run('openssl', ['verify', '-CAfile', join(dir, 'ca.pem'), join(dir, 'srv2/cert.pem')]).status).toBe(0);
    writeFileSync(join(dir, 'pw'), 'p12-pass\n');
    ok(dir, ['export', serials.client, '--format', 'p12', '--password-file', 'pw', '--out', 'alice.p12'], env);
    expect(run('openssl', ['pkcs12', '-in', join(dir, 'alice.p12'), '-passin', 'pass:p12-pass', '-nokeys']).stdout).toContain('subject=CN = alice');
  });

  it("revoke goes to Vault's pki/revoke; crl is Vault's CRL and openssl refuses the revoked certificate", () => {
    ok(dir, ['revoke', serials.client], env);
    writeFileSync(join(dir, 'crl.pem'), ok(dir, ['crl'], env).stdout);
    expect(run('openssl', ['crl', '-in', join(dir, 'crl.pem'), '-noout', '-text']).stdout).toContain(serials.client);
    const revoked = run('openssl', ['verify', '-crl_check', '-CAfile', join(dir, 'ca.pem'), '-CRLfile', join(dir, 'crl.pem'), join(dir, 'cli/cert.pem')]);
    expect(revoked.stdout + revoked.stderr).toContain('certificate revoked');
    expect(run('openssl', ['verify', '-crl_check', '-CAfile', join(dir, 'ca.pem'), '-CRLfile', join(dir, 'crl.pem'), join(dir, 'srv2/cert.pem')]).status).toBe(
      0,
    );
    const colon = serials.client.toLowerCase().replace(/(..)(?!$)/g, '$1:');
    expect(vaultCurl(vault, 'GET', `${pkiMount}/cert/${colon}`).json.data.revocation_time).toBeGreaterThan(0);
  });

  it('KV holds leaf keys and certificates, never the CA key; no private key on local disk outside --out', () => {
    const entry = vaultCurl(vault, 'GET', `secret/data/${kvPrefix}/default/certs/${serials.server}`).json.data.data;
    expect(`${entry.cert_pem}`).toContain('BEGIN CERTIFICATE');
    expect(entry.key_pem).toBe(readFileSync(join(dir, 'srv/key.pem'), 'utf8'));
    const ca = vaultCurl(vault, 'GET', `secret/data/${kvPrefix}/default/ca`).json.data.data;
    expect(ca.key_pem).toBeUndefined();
    // Vault's key for the issuer is not exportable through the API.
    const key = vaultCurl(vault, 'GET', `${pkiMount}/key/certctl-default`).json;
    expect(JSON.stringify(key)).not.toContain('PRIVATE KEY');
    expect(
      privateKeyFilesUnder(
        dir,
        ['srv', 'cli', 'srv2', 'bob.key', 'alice.p12'].map((p) => join(dir, p)),
      ),
    ).toEqual([]);
  });

  it('list cross-checks KV with pki/certs: a record Vault never signed is named', () => {
    const fake = 'AB'.repeat(16);
    const real = vaultCurl(vault, 'GET', `secret/data/${kvPrefix}/default/certs/${serials.server}`).json.data.data;
    vaultCurl(vault, 'POST', `secret/data/${kvPrefix}/default/certs/${fake}`, { data: { ...real, record: { ...real.record, serial: fake } } });
    try {
      const r = ok(dir, ['list'], env);
      expect(r.stderr).toContain(`1 certificate in the inventory is unknown to the vault-pki signer: ${fake}`);
    } finally {
      vaultCurl(vault, 'DELETE', `secret/metadata/${kvPrefix}/default/certs/${fake}`);
    }
    expect(ok(dir, ['list'], env).stderr).not.toContain('unknown to the vault-pki signer');
  });

  it('AppRole: role id and a secret id from a file log certctl in with a confined policy', () => {
    const path = `approle-${pkiMount}`;
    vaultCurl(vault, 'POST', `sys/auth/${path}`, { type: 'approle' });
    const policy = [
      `path "${pkiMount}/sign/certctl-*" { capabilities = ["update"] }`,
      `path "${pkiMount}/issuer/+" { capabilities = ["read"] }`,
      `path "${pkiMount}/certs" { capabilities = ["list"] }`,
      `path "secret/data/${kvPrefix}/*" { capabilities = ["create", "read", "update"] }`,
      `path "secret/metadata/${kvPrefix}/*" { capabilities = ["list", "read", "delete"] }`,
    ].join('\n');
    expect(vaultCurl(vault, 'PUT', `sys/policies/acl/certctl-${pkiMount}`, { policy }).status).toBe(204);
    vaultCurl(vault, 'POST', `auth/${path}/role/certctl`, { token_policies: [`certctl-${pkiMount}`], token_ttl: '10m' });
    const roleId = vaultCurl(vault, 'GET', `auth/${path}/role/certctl/role-id`).json.data.role_id as string;
    const secretId = vaultCurl(vault, 'POST', `auth/${path}/role/certctl/secret-id`).json.data.secret_id as string;
    writeFileSync(join(dir, 'secret-id'), `${secretId}\n`);
    const approleDir = join(dir, 'approle');
    mkdirSync(approleDir);
    writeFileSync(
      join(approleDir, 'certctl.yaml'),
      `backend: vault\nvault:\n  pki_mount: ${pkiMount}\n  kv_prefix: ${kvPrefix}\n  auth:\n    method: approle\n    mount: ${path}\n    role_id: ${roleId}\n    secret_id_file: ../secret-id\n`,
    );
    const { VAULT_TOKEN: _root, ...noToken } = env;
    const r = ok(approleDir, ['issue', 'client', '--cn', 'approle-client', '--json'], noToken);
    expect(r.json!.result.certificates[0].commonName).toBe('approle-client');
    expect(r.stderr + r.stdout).not.toContain(secretId);
    // A wrong secret id: exit 7, and the message says which setting to check.
    writeFileSync(join(dir, 'secret-id'), 'not-a-secret-id\n');
    const bad = certctl(approleDir, ['list'], noToken);
    expect(bad.status).toBe(7);
    expect(bad.stderr).toContain('AppRole login');
    expect(bad.stderr).not.toContain('not-a-secret-id');
  });

  it('a CSR asking for key usages and subject attributes of its own gets the profile, not what it asked for', () => {
    run('openssl', [
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      join(dir, 'eve.key'),
      '-subj',
      '/CN=eve/O=Evil',
      '-addext',
      'keyUsage=critical,keyCertSign',
      '-out',
      join(dir, 'eve.csr'),
    ]);
    const r = ok(dir, ['sign', '--csr', 'eve.csr'], env);
    writeFileSync(join(dir, 'eve.crt'), r.stdout);
    const text = run('openssl', ['x509', '-in', join(dir, 'eve.crt'), '-noout', '-subject', '-ext', 'keyUsage,extendedKeyUsage,basicConstraints']).stdout;
    expect(text).toContain('subject=CN = eve');
    expect(text).toMatch(/Basic Constraints: critical\s+CA:FALSE/);
    expect(text).toMatch(/Key Usage: critical\s+Digital Signature\s/);
    expect(text).toMatch(/TLS Web Client Authentication/);
    expect(r.stderr).toMatch(/not taken from the CSR/);
  });
});
