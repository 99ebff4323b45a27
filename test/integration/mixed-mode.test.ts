/**
 * Mixed mode (issue #5): `signer:` and `store:` in certctl.yaml name different backends, run as
 * an operator runs certctl (the built CLI) against the real servers:
 * (1) Vault's PKI engine signs, Barbican stores; (2) the local signer signs with a CA key kept
 * (passphrase-encrypted) in Vault KV.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { certctl, ok, requireBuiltCli, run, tempDir } from '../support/cli';
import {
  describeWithOpenStack,
  describeWithVault,
  freshPrefix,
  inspector,
  vaultCurl,
  vaultEnv,
  type OpenStackServers,
  type VaultServer,
} from '../support/servers';
import { loadConfig } from '../../src/core/config/load';

jest.setTimeout(300000);

function vaultSection(id: string): string {
  return `vault:\n  pki_mount: pki-mix-${id}\n  kv_mount: secret\n  kv_prefix: certctl-mix-${id}\n`;
}

function barbicanSection(s: OpenStackServers, prefix: string): string {
  return `barbican:\n  endpoint: ${s.noauthEndpoint}\n  name_prefix: ${prefix}\n  auth:\n    method: noauth\n    project_id: ${s.noauthProject}\n`;
}

function withVaultAndOpenStack(name: string, fn: (vault: VaultServer, os: OpenStackServers) => void): void {
  describeWithVault(name, (vault) => describeWithOpenStack('with Barbican', (os) => fn(vault, os)));
}

withVaultAndOpenStack('mixed mode signer: vault + store: barbican (real Vault and Barbican)', (vault, os) => {
  const t = tempDir('certctl-mixed-vb-');
  const dir = t.dir;
  const id = randomBytes(4).toString('hex');
  const prefix = freshPrefix();
  const env = vaultEnv(vault);
  let server = '';
  let client = '';

  beforeAll(() => {
    requireBuiltCli();
    writeFileSync(join(dir, 'certctl.yaml'), `signer: vault\nstore: barbican\n${vaultSection(id)}${barbicanSection(os, prefix)}`);
  });

  afterAll(async () => {
    vaultCurl(vault, 'DELETE', `sys/mounts/pki-mix-${id}`);
    await inspector(loadConfig({}, { XDG_CONFIG_HOME: join(dir, '.xdg') }, dir))
      .purge(prefix)
      .catch(() => undefined);
    t.cleanup();
  });

  it('init creates the CA inside Vault and records it in Barbican without a key', async () => {
    const r = ok(dir, ['init', '--cn', 'Mixed Vault Root'], env);
    expect(r.stderr).toContain('its key never leaves Vault');
    writeFileSync(join(dir, 'ca.pem'), ok(dir, ['ca', 'show'], env).stdout);
    expect(vaultCurl(vault, 'GET', `pki-mix-${id}/issuer/certctl-default`).json.data.certificate.trim()).toBe(
      run('openssl', ['x509', '-in', join(dir, 'ca.pem')]).stdout.trim(),
    );
    const { secrets } = await inspector(loadConfig({}, { XDG_CONFIG_HOME: join(dir, '.xdg') }, dir)).objects(prefix);
    expect(secrets.some((s) => s.startsWith(`${prefix}/default/ca-record `))).toBe(true);
    expect(secrets.some((s) => s.startsWith(`${prefix}/default/ca-key `))).toBe(false);
  });

  it('issue server and client: Vault signs, Barbican keeps the certificates; openssl verifies against ca show', async () => {
    server = ok(dir, ['issue', 'server', '--cn', 'svc.example', '--dns', 'svc.example', '--out', 'srv', '--json'], env).json!.result.certificates[0].serial;
    client = ok(dir, ['issue', 'client', '--cn', 'bob', '--out', 'cli', '--json'], env).json!.result.certificates[0].serial;
    for (const cert of ['srv/cert.pem', 'cli/cert.pem']) {
      expect(run('openssl', ['verify', '-CAfile', join(dir, 'ca.pem'), join(dir, cert)]).stdout.trim()).toBe(`${join(dir, cert)}: OK`);
    }
    const vaultSerials = (vaultCurl(vault, 'LIST', `pki-mix-${id}/certs`).json.data.keys as string[]).map((s) => s.replace(/:/g, '').toUpperCase());
    expect(vaultSerials).toEqual(expect.arrayContaining([server, client]));
    const { secrets } = await inspector(loadConfig({}, { XDG_CONFIG_HOME: join(dir, '.xdg') }, dir)).objects(prefix);
    expect(secrets.some((s) => s.startsWith(`${prefix}/default/${server}/cert `))).toBe(true);
    expect(secrets.some((s) => s.startsWith(`${prefix}/default/${server}/key `))).toBe(true);
  });

  it("revoke, crl (Vault's) and list (from Barbican) work together", () => {
    ok(dir, ['revoke', client], env);
    writeFileSync(join(dir, 'crl.pem'), ok(dir, ['crl'], env).stdout);
    expect(run('openssl', ['crl', '-in', join(dir, 'crl.pem'), '-CAfile', join(dir, 'ca.pem'), '-noout']).stderr).toMatch(/verify OK/);
    const revoked = run('openssl', ['verify', '-crl_check', '-CAfile', join(dir, 'ca.pem'), '-CRLfile', join(dir, 'crl.pem'), join(dir, 'cli/cert.pem')]);
    expect(revoked.stdout + revoked.stderr).toContain('certificate revoked');
    expect(run('openssl', ['verify', '-crl_check', '-CAfile', join(dir, 'ca.pem'), '-CRLfile', join(dir, 'crl.pem'), join(dir, 'srv/cert.pem')]).status).toBe(
      0,
    );
    const listed = ok(dir, ['list', '--json'], env);
    const bySerial = Object.fromEntries(listed.json!.result.map((r: any) => [r.serial, r.status]));
    expect(bySerial).toEqual({ [server]: 'valid', [client]: 'revoked' });
    expect(ok(dir, ['list'], env).stderr).not.toContain('unknown to the vault-pki signer');
  });
});

describeWithVault('mixed mode signer: file + store: vault (local signer, CA key in Vault KV)', (vault) => {
  const t = tempDir('certctl-mixed-fv-');
  const dir = t.dir;
  const id = randomBytes(4).toString('hex');
  const env = vaultEnv(vault);

  beforeAll(() => {
    requireBuiltCli();
    writeFileSync(join(dir, 'pass'), 'kv-ca-pass\n');
  });

  afterAll(() => t.cleanup());

  for (const store of ['vault', 'vault-kv']) {
    it(`store: ${store} — init --passphrase-file keeps the encrypted CA key in KV; issue signs locally; no PKI mount is touched`, () => {
      const sub = join(dir, store);
      run('mkdir', ['-p', sub]);
      const kvPrefix = `certctl-mix-${id}-${store}`;
      writeFileSync(
        join(sub, 'certctl.yaml'),
        `signer: file\nstore: ${store}\nvault:\n  pki_mount: pki-mix-${id}\n  kv_mount: secret\n  kv_prefix: ${kvPrefix}\n`,
      );
      ok(sub, ['init', '--cn', 'Mixed KV Root', '--passphrase-file', '../pass'], env);
      const entry = vaultCurl(vault, 'GET', `secret/data/${kvPrefix}/default/ca`).json.data.data;
      expect(entry.key_pem).toContain('BEGIN ENCRYPTED PRIVATE KEY');
      expect(entry.record.keyEncrypted).toBe(true);
      writeFileSync(join(sub, 'ca.pem'), ok(sub, ['ca', 'show'], env).stdout);
      // Without the passphrase the local signer cannot use the key.
      const noPass = certctl(sub, ['issue', 'server', '--cn', 'kv.example'], env);
      expect(noPass.status).not.toBe(0);
      expect(noPass.stderr).toMatch(/encrypted; give its passphrase/);
      const serial = ok(sub, ['issue', 'server', '--cn', 'kv.example', '--out', 'srv', '--passphrase-file', '../pass', '--json'], env).json!.result
        .certificates[0].serial;
      expect(run('openssl', ['verify', '-CAfile', join(sub, 'ca.pem'), join(sub, 'srv/cert.pem')]).stdout.trim()).toBe(`${join(sub, 'srv/cert.pem')}: OK`);
      expect(vaultCurl(vault, 'GET', `secret/data/${kvPrefix}/default/certs/${serial}`).json.data.data.cert_pem).toContain('BEGIN CERTIFICATE');
      ok(sub, ['revoke', serial], env);
      writeFileSync(join(sub, 'crl.pem'), ok(sub, ['crl', '--passphrase-file', '../pass'], env).stdout);
      expect(run('openssl', ['crl', '-in', join(sub, 'crl.pem'), '-noout', '-text']).stdout).toContain(serial);
      // The local signer never enabled Vault's PKI engine.
      expect(vaultCurl(vault, 'GET', `sys/mounts/pki-mix-${id}`).status).not.toBe(200);
      for (const p of ['ca', 'crl-number', `certs/${serial}`]) vaultCurl(vault, 'DELETE', `secret/metadata/${kvPrefix}/default/${p}`);
    });
  }
});
