import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VaultClient } from '../../../src/backends/vault/client';
import { parseVaultOptions, type VaultOptions } from '../../../src/backends/vault/options';
import { roleName, vaultSerial } from '../../../src/backends/vault/vault-pki-signer';
import { TransportError, type HttpRequest, type HttpResponse, type HttpTransport } from '../../../src/backends/http/transport';
import type { ResolvedConfig } from '../../../src/core/config/load';
import { BackendAuthError, BackendUnavailableError, ConflictError, ConfigError } from '../../../src/core/errors';

function config(section: unknown, env: Record<string, string> = {}, baseDir = '/etc/certctl'): ResolvedConfig {
  return { baseDir, path: join(baseDir, 'certctl.yaml'), sections: { vault: section }, env } as unknown as ResolvedConfig;
}

describe('vault options', () => {
  it('VAULT_* fill the fields and win over the file; defaults first', () => {
    const o = parseVaultOptions(config({ address: 'https://file.example:8200' }, { VAULT_ADDR: 'https://env.example:8200/', VAULT_TOKEN: 's.t', VAULT_NAMESPACE: 'team', VAULT_CACERT: '/ca.pem' }));
    expect(o).toMatchObject({ address: 'https://env.example:8200', namespace: 'team', pkiMount: 'pki', kvMount: 'secret', kvPrefix: 'certctl', caFile: '/ca.pem', caFileOrigin: 'VAULT_CACERT', timeoutMs: 30000 });
    expect(o.auth).toEqual({ method: 'token', token: 's.t', origin: 'VAULT_TOKEN' });
  });

  it('reads AppRole ids from files relative to the config', () => {
    const dir = mkdtempSync(join(tmpdir(), 'certctl-vault-opts-'));
    writeFileSync(join(dir, 'sid'), 'secret-id\n');
    const o = parseVaultOptions(config({ address: 'http://127.0.0.1:8200', auth: { method: 'approle', role_id: 'rid', secret_id_file: 'sid' } }, {}, dir));
    expect(o.auth).toEqual({ method: 'approle', mount: 'approle', roleId: 'rid', secretId: 'secret-id' });
  });

  it('names what is missing or wrong', () => {
    expect(() => parseVaultOptions(config({}, { VAULT_TOKEN: 't' }))).toThrow(/vault.address/);
    expect(() => parseVaultOptions(config({}, { VAULT_ADDR: 'vault:8200', VAULT_TOKEN: 't' }))).toThrow(/VAULT_ADDR: "vault:8200" is not an http/);
    expect(() => parseVaultOptions(config({ address: 'http://v:8200', auth: { method: 'approle', role_id: 'r' } }))).toThrow(/secret_id_file/);
    expect(() => parseVaultOptions(config({ address: 'http://v:8200', pki_mount: '/pki/' }, { VAULT_TOKEN: 't' }))).toThrow(/vault.pki_mount/);
    expect(() => parseVaultOptions(config({ address: 'http://v:8200', token: 'in-yaml' }, { VAULT_TOKEN: 't' }))).toThrow(/unknown key "token"/);
  });
});

describe('vault naming', () => {
  it('serials in Vault form, roles per usage set', () => {
    expect(vaultSerial('0A1B2C')).toBe('0a:1b:2c');
    expect(roleName('default', ['serverAuth'], ['digitalSignature'])).toBe('certctl-default-server-sig');
    expect(roleName('edge', ['serverAuth', 'clientAuth'], ['digitalSignature', 'keyEncipherment'])).toBe('certctl-edge-peer-sig-enc');
  });
});

describe('VaultClient over a scripted transport', () => {
  /** Answers each request with the next scripted outcome and keeps what was sent. */
  function scripted(outcomes: (Partial<HttpResponse> | Error)[]): HttpTransport & { sent: HttpRequest[] } {
    const t = {
      sent: [] as HttpRequest[],
      async send(r: HttpRequest): Promise<HttpResponse> {
        t.sent.push(r);
        const o = outcomes[t.sent.length - 1];
        if (o instanceof Error) throw o;
        return { status: 200, headers: {}, data: {}, ...o };
      },
    };
    return t;
  }
  const options: VaultOptions = { address: 'https://vault.example:8200', namespace: 'team-a', pkiMount: 'pki', kvMount: 'secret', kvPrefix: 'certctl', timeoutMs: 30000, auth: { method: 'token', token: 'hvs.secret-token', origin: 'VAULT_TOKEN' } };

  it('sends the token and namespace headers, and collects warnings', async () => {
    const t = scripted([{ data: { data: { a: 1 }, warnings: ['TTL capped'] } }]);
    const c = new VaultClient(t, options);
    expect((await c.read('pki/issuer/x'))?.data).toEqual({ a: 1 });
    expect(t.sent[0].headers).toMatchObject({ 'X-Vault-Token': 'hvs.secret-token', 'X-Vault-Namespace': 'team-a' });
    expect(t.sent[0].url).toBe('https://vault.example:8200/v1/pki/issuer/x');
    expect(c.takeWarnings()).toEqual(['TTL capped']);
    expect(c.takeWarnings()).toEqual([]);
  });

  it('404 with no errors is "absent" for reads and an empty LIST; 202 is success', async () => {
    const t = scripted([{ status: 404, data: { errors: [] } }, { status: 404, data: { errors: [] } }, { status: 202, data: { warnings: null } }]);
    const c = new VaultClient(t, options);
    expect(await c.read('secret/data/x')).toBeUndefined();
    expect(await c.list('secret/metadata/x')).toEqual([]);
    expect(t.sent[1].method).toBe('LIST');
    await expect(c.write('pki/tidy', {})).resolves.toBeDefined();
  });

  it('translates sealed, denied, check-and-set and unreachable; the token never appears', async () => {
    const t = scripted([
      { status: 503, data: { errors: ['Vault is sealed'] } },
      { status: 403, data: { errors: ['1 error occurred:\n\t* permission denied\n\n'] } },
      { status: 400, data: { errors: ['check-and-set parameter did not match the current version'] } },
      new TransportError('connect ECONNREFUSED', 'ECONNREFUSED', false),
    ]);
    const c = new VaultClient(t, options);
    const sealed = await c.read('pki/issuer/x').catch((e) => e);
    expect(sealed).toBeInstanceOf(BackendUnavailableError);
    expect(sealed.message).toMatch(/^Vault is sealed .*vault operator unseal/);
    const denied = await c.write('pki/sign/r', {}).catch((e) => e);
    expect(denied).toBeInstanceOf(BackendAuthError);
    expect(denied.message).toMatch(/denied POST pki\/sign\/r \(403\).*VAULT_TOKEN.*"create\/update" on "pki\/sign\/r"/s);
    const cas = await c.write('secret/data/x', {}).catch((e) => e);
    expect(cas).toBeInstanceOf(ConflictError);
    const down = await c.read('x').catch((e) => e);
    expect(down).toBeInstanceOf(BackendUnavailableError);
    expect(down.message).toContain('cannot reach Vault at https://vault.example:8200 (connection refused)');
    for (const e of [sealed, denied, cas, down]) expect(e.message).not.toContain('hvs.secret-token');
  });

  it('a TLS verification failure is configuration, naming VAULT_CACERT', async () => {
    const c = new VaultClient(scripted([new TransportError('self signed', 'SELF_SIGNED_CERT_IN_CHAIN', true)]), options);
    const err = await c.read('x').catch((e) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(/VAULT_CACERT/);
  });
});
