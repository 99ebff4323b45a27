/**
 * How the Vault backend knows that something is absent without reading Vault's error text,
 * against the real Vault-API server: a missing mount (`GET sys/mounts`), a missing issuer
 * (`LIST <mount>/issuers`), an unknown serial and an already revoked one
 * (`GET <mount>/cert/<serial>`), a missing role (`GET <mount>/roles/<role>` after a refused
 * signing request). certctl runs with tokens holding exactly README.md's Vault policy, so the
 * paragraph is checked too. A recording wrapper around the real transport shows which requests
 * the signer sent; it changes nothing.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { VaultTransport } from '../../src/backends/vault';
import type { VaultPkiSigner } from '../../src/backends/vault/vault-pki-signer';
import type { HttpTransport } from '../../src/backends/http/transport';
import { loadConfig } from '../../src/core/config/load';
import { NotFoundError } from '../../src/core/errors';
import { Signer } from '../../src/core/signer';
import { containerFor } from '../support/containers';
import { certctl, ok, requireBuiltCli, run, tempDir } from '../support/cli';
import { describeWithVault, vaultCurl, vaultEnv, writeVaultConfig, type VaultServer } from '../support/servers';

jest.setTimeout(180000);

/** README.md's Vault policy paragraph with `pki` and `certctl` replaced by the test's mount and KV prefix. */
function readmePolicy(m: string, p: string, part: { init?: boolean; readRoles?: boolean; readMounts?: boolean } = {}): string {
  const rule = (path: string, caps: string[]) => `path "${path}" { capabilities = [${caps.map((c) => `"${c}"`).join(', ')}] }`;
  const kv = ['create', 'read', 'update', 'delete', 'list'];
  const write = ['create', 'update'];
  const rules = [
    rule(`${m}/sign/certctl-*`, ['update']),
    rule(`${m}/revoke`, ['update']),
    // Vault prefers `issuer/+` to `issuer/*` for one segment, so init's PATCH of an issuer name goes here.
    rule(`${m}/issuer/+`, part.init ? ['read', 'patch'] : ['read']),
    rule(`${m}/issuer/+/crl/pem`, ['read']),
    rule(`${m}/crl/rotate`, ['read']),
    rule(`${m}/certs`, ['list']),
    rule(`secret/data/${p}/*`, kv),
    rule(`secret/metadata/${p}/*`, kv),
  ];
  if (part.readRoles) rules.push(rule(`${m}/roles/certctl-*`, ['read']));
  if (part.init) {
    if (part.readMounts !== false) rules.push(rule('sys/mounts', ['read']));
    rules.push(rule(`sys/mounts/${m}`, write), rule(`sys/mounts/${m}/tune`, write));
    for (const path of [`${m}/root/*`, `${m}/intermediate/*`, `${m}/issuers/import/*`, `${m}/roles/*`, `${m}/config/urls`]) rules.push(rule(path, write));
    rules.push(rule(`${m}/issuer/*`, write));
  }
  return rules.join('\n');
}

/** A token holding only the given policy. */
function tokenWith(vault: VaultServer, name: string, policy: string): string {
  expect(vaultCurl(vault, 'PUT', `sys/policies/acl/${name}`, { policy }).status).toBe(204);
  return vaultCurl(vault, 'POST', 'auth/token/create', { policies: [name], ttl: '20m', no_parent: true }).json.auth.client_token as string;
}

describeWithVault('Vault PKI: absence known from structure, not from error text (real Vault-API server)', (vault) => {
  const t = tempDir('certctl-vault-detect-');
  const dir = t.dir;
  const { pkiMount, kvPrefix } = writeVaultConfig(dir);
  const env = vaultEnv(vault);
  const kvMount = `kv-detect-${randomBytes(4).toString('hex')}`;
  let runToken = '';
  let runTokenWithRoles = '';
  let serial = '';

  /** The signer of the test's certctl.yaml over a client that records each request as `METHOD path`. */
  function recordedSigner(overrides: Record<string, string> = {}) {
    const sent: string[] = [];
    const config = loadConfig({}, { ...env, ...overrides, XDG_CONFIG_HOME: join(dir, 'xdg') }, dir);
    const record = (inner: HttpTransport): HttpTransport => ({
      send: (r) => {
        sent.push(`${r.method} ${new URL(r.url).pathname.replace(/^\/v1\//, '')}`);
        return inner.send(r);
      },
    });
    const container = containerFor(config, 'vault');
    container.onActivation<HttpTransport>(VaultTransport, (_ctx, t) => record(t));
    return { signer: container.get<VaultPkiSigner>(Signer), sent };
  }

  beforeAll(() => {
    requireBuiltCli();
    runToken = tokenWith(vault, `certctl-run-${pkiMount}`, readmePolicy(pkiMount, kvPrefix));
    runTokenWithRoles = tokenWith(vault, `certctl-run-roles-${pkiMount}`, readmePolicy(pkiMount, kvPrefix, { readRoles: true }));
  });

  afterAll(() => {
    vaultCurl(vault, 'DELETE', `sys/mounts/${pkiMount}`);
    vaultCurl(vault, 'DELETE', `sys/mounts/${kvMount}`);
    t.cleanup();
  });

  it('a mount that does not exist: the signer finds no issuer (404 no-route on LIST <mount>/issuers), exit 4', async () => {
    expect(vaultCurl(vault, 'GET', `sys/mounts/${pkiMount}`).status).toBe(400);
    const { signer, sent } = recordedSigner();
    const err = await signer.crl('default', []).catch((e) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.message).toContain(`no issuer "default" in Vault's ${pkiMount}/ mount`);
    expect(sent).toEqual([`LIST ${pkiMount}/issuers`]);
  });

  it("init reads sys/mounts to know the mount is missing: without read there, exit 7 naming it; with README's init policy it enables the mount", () => {
    const noMounts = tokenWith(vault, `certctl-init-nomounts-${pkiMount}`, readmePolicy(pkiMount, kvPrefix, { init: true, readMounts: false }));
    const denied = certctl(dir, ['init', '--cn', 'Detect Root'], { ...env, VAULT_TOKEN: noMounts });
    expect(denied.status).toBe(7);
    expect(denied.stderr).toContain('denied GET sys/mounts (403)');
    expect(denied.stderr).toContain('"read" on "sys/mounts"');
    expect(vaultCurl(vault, 'GET', `sys/mounts/${pkiMount}`).status).toBe(400);

    const initToken = tokenWith(vault, `certctl-init-${pkiMount}`, readmePolicy(pkiMount, kvPrefix, { init: true }));
    const r = ok(dir, ['init', '--cn', 'Detect Root'], { ...env, VAULT_TOKEN: initToken });
    expect(r.stderr).toContain(`enabled the PKI secrets engine at ${pkiMount}/`);
    expect(vaultCurl(vault, 'GET', `sys/mounts/${pkiMount}`).json.type).toBe('pki');
    // An intermediate too (sign-intermediate, set-signed, PATCH of the issuer name).
    ok(dir, ['--ca', 'inter', 'init', '--cn', 'Detect Intermediate', '--parent', 'default'], { ...env, VAULT_TOKEN: initToken });
  });

  it('a path holding another engine: init exits 9 naming its type', () => {
    expect(vaultCurl(vault, 'POST', `sys/mounts/${kvMount}`, { type: 'kv' }).status).toBe(204);
    const other = tempDir('certctl-vault-detect-kv-');
    try {
      writeFileSync(join(other.dir, 'certctl.yaml'), `backend: vault\nvault:\n  pki_mount: ${kvMount}\n  kv_mount: secret\n  kv_prefix: ${kvPrefix}-kv\n`);
      const r = certctl(other.dir, ['init', '--cn', 'Wrong Mount'], env);
      expect(r.stderr).toContain(`Vault's ${kvMount}/ mount is a kv engine, not pki`);
      expect(r.status).toBe(9);
    } finally {
      other.cleanup();
    }
  });

  it('an issuer name the mount lacks: found absent in LIST <mount>/issuers, the issuer itself is never read', async () => {
    const { signer, sent } = recordedSigner();
    const err = await signer.crl('nope', []).catch((e) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.message).toContain(`no issuer "nope" in Vault's ${pkiMount}/ mount`);
    expect(sent).toEqual([`LIST ${pkiMount}/issuers`]);
    // The CA that exists is found by the same LIST, then read by its id.
    await expect(signer.crl('default', [])).resolves.toContain('BEGIN X509 CRL');
    expect(sent.slice(1, 3)).toEqual([`LIST ${pkiMount}/issuers`, expect.stringMatching(new RegExp(`^GET ${pkiMount}/issuer/[0-9a-f-]{36}$`))]);
  });

  it("issue, list, show, revoke and crl run with README's policy; an unknown serial is known absent from GET <mount>/cert/<serial>", async () => {
    const runEnv = { ...env, VAULT_TOKEN: runToken };
    serial = ok(dir, ['issue', 'server', '--cn', 'd.example', '--dns', 'd.example', '--json'], runEnv).json!.result.certificates[0].serial;
    // The intermediate made by init is in default's inventory too.
    expect(ok(dir, ['list', '--json'], runEnv).json!.result.map((r: { serial: string }) => r.serial)).toContain(serial);
    expect(ok(dir, ['show', serial, '--json'], runEnv).json!.result.serial).toBe(serial);

    const { signer, sent } = recordedSigner();
    expect(await signer.hasIssued(serial)).toBe(true);
    const unknown = 'AB'.repeat(16);
    expect(await signer.hasIssued(unknown)).toBe(false);
    // No store attached and Vault never saw it: nothing to hand over, exit 4, and no pki/revoke sent.
    const err = await signer.revoke('default', unknown).catch((e) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.message).toContain(`does not know serial ${unknown}`);
    expect(sent.filter((s) => s.startsWith('POST'))).toEqual([]);

    ok(dir, ['revoke', serial], runEnv);
    const colon = serial.toLowerCase().replace(/(..)(?!$)/g, '$1:');
    expect(vaultCurl(vault, 'GET', `${pkiMount}/cert/${colon}`).json.data.revocation_time).toBeGreaterThan(0);
    expect(ok(dir, ['crl'], runEnv).stdout).toContain('BEGIN X509 CRL');

    // A revocation the store has but Vault missed (it was down): crl tells Vault, then rotates its CRL.
    const missed = ok(dir, ['issue', 'client', '--cn', 'missed', '--json'], runEnv).json!.result.certificates[0];
    const late = recordedSigner({ VAULT_TOKEN: runToken });
    const pem = await late.signer.crl('default', [{ ...missed, status: 'revoked' }]);
    expect(late.sent).toContain(`GET ${pkiMount}/crl/rotate`);
    expect(run('openssl', ['crl', '-noout', '-text'], { input: pem }).stdout).toContain(missed.serial);
  });

  it('an already revoked serial: GET <mount>/cert/<serial> says so and pki/revoke is not sent again', async () => {
    const { signer, sent } = recordedSigner();
    await signer.revoke('default', serial);
    const colon = serial.toLowerCase().replace(/(..)(?!$)/g, '$1:');
    expect(sent).toEqual([`GET ${pkiMount}/cert/${colon}`]);
  });

  it("a role that is gone: exit 3 naming it when the policy may read roles; otherwise Vault's refusal, naming the failed lookup", () => {
    const role = 'certctl-default-server-sig';
    expect(vaultCurl(vault, 'DELETE', `${pkiMount}/roles/${role}`).status).toBe(204);
    const withRoles = certctl(dir, ['issue', 'server', '--cn', 'e.example', '--dns', 'e.example'], { ...env, VAULT_TOKEN: runTokenWithRoles });
    expect(withRoles.status).toBe(3);
    expect(withRoles.stderr).toContain(`Vault's ${pkiMount}/ mount has no role ${role}`);
    const without = certctl(dir, ['issue', 'server', '--cn', 'e.example', '--dns', 'e.example'], { ...env, VAULT_TOKEN: runToken });
    expect(without.status).toBe(2);
    expect(without.stderr).toContain(`refused POST ${pkiMount}/sign/${role} (400)`);
    expect(without.stderr).toContain(`looking up role ${role} to explain that failed too`);
    expect(without.stderr).toContain(`denied GET ${pkiMount}/roles/${role} (403)`);
  });
});
