import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classify, VaultClient, vaultFailure, type VaultFailureReason } from '../../../src/backends/vault/client';
import { parseVaultOptions, type VaultOptions } from '../../../src/backends/vault/options';
import { checkExpressible, roleBody, roleFor, roleName } from '../../../src/backends/vault/pki-roles';
import { NotSupportedError } from '../../../src/core/errors';
import type { LeafSpec } from '../../../src/core/signer';
import { vaultSerial } from '../../../src/backends/vault/vault-pki-signer';
import { TransportError, type HttpRequest, type HttpResponse, type HttpTransport } from '../../../src/backends/http/transport';
import type { ResolvedConfig } from '../../../src/core/config/load';
import { VaultKvStore } from '../../../src/backends/vault/vault-kv-store';
import type { CertificateRecord } from '../../../src/core/types';
import { SCRIPTED_VAULT_OPTIONS, scriptedTransport } from '../../support/scripted-transport';
import {
  BackendAuthError,
  BackendUnavailableError,
  ConflictError,
  ConfigError,
  InternalError,
  InvalidInputError,
  NotFoundError,
} from '../../../src/core/errors';

function config(section: unknown, env: Record<string, string> = {}, baseDir = '/etc/certctl'): ResolvedConfig {
  return { baseDir, path: join(baseDir, 'certctl.yaml'), sections: { vault: section }, env } as unknown as ResolvedConfig;
}

describe('vault options', () => {
  it('VAULT_* fill the fields and win over the file; defaults first', () => {
    const o = parseVaultOptions(
      config(
        { address: 'https://file.example:8200' },
        { VAULT_ADDR: 'https://env.example:8200/', VAULT_TOKEN: 's.t', VAULT_NAMESPACE: 'team', VAULT_CACERT: '/ca.pem' },
      ),
    );
    expect(o).toMatchObject({
      address: 'https://env.example:8200',
      namespace: 'team',
      pkiMount: 'pki',
      kvMount: 'secret',
      kvPrefix: 'certctl',
      caFile: '/ca.pem',
      caFileOrigin: 'VAULT_CACERT',
      timeoutMs: 30000,
    });
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
    expect(() => parseVaultOptions(config({}, { VAULT_ADDR: 'not a url', VAULT_TOKEN: 't' }))).toThrow(ConfigError);
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

  const spec = (over: Partial<LeafSpec>) => ({ extKeyUsage: ['clientAuth'], keyUsage: ['digitalSignature'], ...over }) as LeafSpec;

  it("built-in shapes keep init's roles; other shapes get a role named after their body, with what Vault takes only from a role", () => {
    expect(roleFor('default', spec({})).name).toBe('certctl-default-client-sig');
    const withO = roleFor('default', spec({ subject: { O: ['system:masters'], serialNumber: ['1'] } }));
    expect(withO.name).toMatch(/^certctl-default-r[0-9a-f]{16}$/);
    expect(roleBody('default', withO.shape)).toMatchObject({
      organization: ['system:masters'],
      allowed_serial_numbers: ['*'],
      client_flag: true,
      server_flag: false,
    });
    expect(roleFor('default', spec({ subject: { O: ['system:nodes'] } })).name).not.toBe(withO.name);
    const signing = roleFor('default', spec({ extKeyUsage: ['codeSigning', 'timeStamping', '1.3.6.1.5.5.7.3.17'], keyUsage: ['contentCommitment'] }));
    expect(roleBody('default', signing.shape)).toMatchObject({
      code_signing_flag: true,
      ext_key_usage: ['TimeStamping'],
      ext_key_usage_oids: ['1.3.6.1.5.5.7.3.17'],
      key_usage: ['ContentCommitment'],
    });
  });

  it('refuses with exit 9 a subject value Vault would trim', () => {
    expect(() => checkExpressible(spec({ subject: { O: ['ok'] } }))).not.toThrow();
    const err = (() => {
      try {
        checkExpressible(spec({ subject: { OU: [' padded'] } }));
      } catch (e) {
        return e as NotSupportedError;
      }
    })();
    expect(err).toBeInstanceOf(NotSupportedError);
    expect(err?.exitCode).toBe(9);
    expect(err?.message).toContain('subject OU " padded"');
  });
});

describe('VaultClient over a scripted transport', () => {
  const scripted = scriptedTransport;
  const options: VaultOptions = {
    address: 'https://vault.example:8200',
    namespace: 'team-a',
    pkiMount: 'pki',
    kvMount: 'secret',
    kvPrefix: 'certctl',
    timeoutMs: 30000,
    auth: { method: 'token', token: 'hvs.secret-token', origin: 'VAULT_TOKEN' },
  };

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
    const t = scripted([
      { status: 404, data: { errors: [] } },
      { status: 404, data: { errors: [] } },
      { status: 202, data: { warnings: null } },
    ]);
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

describe('Vault failures classified once', () => {
  // Bodies as the Vault 1.14.2 server of tools/vault-server answers them (API-NOTES.md), except
  // the 503 of another cause, made up to show that only the sealed wording counts as sealed.
  const cases: [number, string[], VaultFailureReason][] = [
    [503, ['Vault is sealed'], 'sealed'],
    [503, ['made up: another cause'], 'unavailable'],
    [403, ['permission denied'], 'denied'],
    [403, ['1 error occurred:\n\t* permission denied\n\n'], 'denied'],
    [400, ['check-and-set parameter did not match the current version'], 'cas-mismatch'],
    [400, ['No secret engine mount at nope/'], 'rejected'],
    [400, ['unknown role: certctl-x-server-sig'], 'rejected'],
    [404, ['no handler for route "nomount/foo". route entry not found.'], 'no-route'],
    [404, ['1 error occurred:\n\t* unsupported path\n\n'], 'no-route'],
    [404, [], 'absent'],
    [405, ['1 error occurred:\n\t* unsupported operation\n\n'], 'rejected'],
    [429, [], 'unavailable'],
    [500, ['1 error occurred:\n\t* unable to find PKI issuer for reference: certctl-x\n\n'], 'unavailable'],
  ];
  it.each(cases)('%i %j is %s', (status, errors, reason) => {
    expect(classify(status, errors)).toBe(reason);
  });
});

describe('VaultClient: each failure reason to one certctl error kind', () => {
  /** A transport that answers every request with one status and body; a fake to inject failures. */
  function answering(status: number, data: unknown): HttpTransport & { sent: HttpRequest[] } {
    const t = {
      sent: [] as HttpRequest[],
      async send(r: HttpRequest): Promise<HttpResponse> {
        t.sent.push(r);
        return { status, headers: {}, data };
      },
    };
    return t;
  }
  const options: VaultOptions = {
    address: 'https://vault.example:8200',
    pkiMount: 'pki',
    kvMount: 'secret',
    kvPrefix: 'certctl',
    timeoutMs: 30000,
    auth: { method: 'token', token: 'hvs.secret-token', origin: 'VAULT_TOKEN' },
  };
  const table: [number, number, string[], new (...a: never[]) => Error, VaultFailureReason][] = [
    [6, 503, ['Vault is sealed'], BackendUnavailableError, 'sealed'],
    [
      6,
      500,
      ['1 error occurred:\n\t* could not fetch the CA certificate (was one set?): no default issuer currently configured\n\n'],
      BackendUnavailableError,
      'unavailable',
    ],
    [7, 403, ['permission denied'], BackendAuthError, 'denied'],
    [8, 400, ['check-and-set parameter did not match the current version'], ConflictError, 'cas-mismatch'],
    [4, 404, ['no handler for route "nope/x". route entry not found.'], NotFoundError, 'no-route'],
    [2, 400, ['csr contains no data'], InvalidInputError, 'rejected'],
    [1, 405, ['1 error occurred:\n\t* unsupported operation\n\n'], InternalError, 'rejected'],
  ];
  it.each(table)('exit %i for %i %j, the Vault answer kept as cause', async (exit, status, errors, Kind, reason) => {
    const c = new VaultClient(answering(status, { errors }), options);
    const err = await c.read('pki/issuer/x').catch((e) => e);
    expect(err).toBeInstanceOf(Kind);
    expect(err.exitCode).toBe(exit);
    expect(vaultFailure(err)).toMatchObject({ method: 'GET', path: 'pki/issuer/x', status, errors, reason });
    expect(err.message).not.toContain('hvs.secret-token');
  });

  it('a 404 with no errors is "absent" for read, LIST and DELETE; a 404 that names an error (no-route) is thrown', async () => {
    const absent = new VaultClient(answering(404, { errors: [] }), options);
    expect(await absent.read('pki/cert/0a')).toBeUndefined();
    expect(await absent.listWithInfo('pki/issuers')).toEqual({ keys: [], info: {} });
    await expect(absent.delete('secret/metadata/x')).resolves.toBeUndefined();
    const noRoute = new VaultClient(answering(404, { errors: ['no handler for route "nope/issuers/". route entry not found.'] }), options);
    const err = await noRoute.listWithInfo('nope/issuers').catch((e) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect(vaultFailure(err)?.reason).toBe('no-route');
  });

  it('LIST with key_info', async () => {
    const c = new VaultClient(answering(200, { data: { keys: ['id-1'], key_info: { 'id-1': { issuer_name: 'certctl-default' } } } }), options);
    expect(await c.listWithInfo('pki/issuers')).toEqual({ keys: ['id-1'], info: { 'id-1': { issuer_name: 'certctl-default' } } });
  });

  it('a refused AppRole login (400) is exit 7 naming the secret id setting, never the secret', async () => {
    const approle: VaultOptions = { ...options, auth: { method: 'approle', mount: 'approle', roleId: 'rid', secretId: 'the-secret-id' } };
    const err = await new VaultClient(answering(400, { errors: ['invalid secret id'] }), approle).read('x').catch((e) => e);
    expect(err).toBeInstanceOf(BackendAuthError);
    expect(err.message).toMatch(/refused the AppRole login at auth\/approle\/login \(400\).*vault.auth.secret_id_file/);
    expect(err.message).not.toContain('the-secret-id');
    expect(vaultFailure(err)).toMatchObject({ method: 'POST', path: 'auth/approle/login', reason: 'rejected' });
  });

  it('a policy without patch: the message names the "patch" capability', async () => {
    const err = await new VaultClient(answering(403, { errors: ['permission denied'] }), options).write('pki/issuer/x', {}, 'PATCH').catch((e) => e);
    expect(err.message).toContain('lacks "patch" on "pki/issuer/x"');
  });
});

describe('VaultKvStore.markRevoked rollback', () => {
  const record = (serial: string): CertificateRecord => ({
    serial,
    profile: 'server',
    commonName: serial,
    dnsNames: [],
    ipAddresses: [],
    keyType: 'ec-p256',
    notBefore: '2026-01-01T00:00:00Z',
    notAfter: '2027-01-01T00:00:00Z',
    issuedAt: '2026-01-01T00:00:00Z',
    hasKey: false,
    sha256: '00',
    status: 'valid',
  });
  const entry = (serial: string) => ({ data: { data: { record: record(serial), cert_pem: 'PEM' }, metadata: { version: 1 } } });
  /** Answers in order: reads of A and B, the write of A, a failed write of B, then the put-back of A; a fake to inject the failures. */
  const script = (putBack: Partial<HttpResponse>) =>
    scriptedTransport([
      { data: entry('0A') },
      { data: entry('0B') },
      { data: { data: { version: 2 } } },
      { status: 503, data: { errors: ['Vault is sealed'] } },
      putBack,
    ]);
  const options = SCRIPTED_VAULT_OPTIONS;

  it('puts back what was already revoked (check-and-set on the version written), then rethrows the failure', async () => {
    const t = script({ data: { data: { version: 3 } } });
    const store = new VaultKvStore(new VaultClient(t, options), options, 0);
    const err = await store.markRevoked('default', ['0A', '0B'], 'keyCompromise', new Date()).catch((e) => e);
    expect(err).toBeInstanceOf(BackendUnavailableError);
    expect(err.message).toMatch(/^Vault is sealed/);
    const putBack = t.sent[4];
    expect(putBack.url).toBe('https://vault.example:8200/v1/secret/data/certctl/default/certs/0A');
    expect(putBack.body).toMatchObject({ options: { cas: 2 }, data: { record: { serial: '0A', status: 'valid' } } });
  });

  it('a put-back that fails too is named in the error, with the kind of the original failure', async () => {
    const t = script({ status: 503, data: { errors: ['Vault is sealed'] } });
    const store = new VaultKvStore(new VaultClient(t, options), options, 0);
    const err = await store.markRevoked('default', ['0A', '0B'], 'keyCompromise', new Date()).catch((e) => e);
    expect(err).toBeInstanceOf(BackendUnavailableError);
    expect(err.message).toContain(
      '1 of the 1 certificate already marked revoked could not be put back and read as revoked: secret/data/certctl/default/certs/0A',
    );
  });
});
