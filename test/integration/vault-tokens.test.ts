/**
 * Issue #12's "Beyond one machine" for enrollment tokens: two `certctl serve` instances, each in
 * its own directory (nothing shared but Vault), over one Vault-API server — Vault PKI signs, KV v2
 * keeps the token's hash and its one-time use with check-and-set. A token used on one instance is
 * refused on the other, and of concurrent redemptions over both exactly one succeeds.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { certctl, ok, opensslEcCsr, requireBuiltCli, run, tempDir } from '../support/cli';
import { httpsCall, startServe, type ServeProcess } from '../support/serve';
import { describeWithVault, vaultCurl, vaultEnv, writeVaultConfig } from '../support/servers';

jest.setTimeout(240000);

describeWithVault('enrollment tokens over two certctl serve instances and one Vault', (vault) => {
  const t = tempDir('certctl-vault-tokens-');
  const host = join(t.dir, 'ca-host');
  const node = join(t.dir, 'node');
  const env = vaultEnv(vault);
  let config: { pkiMount: string; kvPrefix: string; path: string };
  let a: ServeProcess;
  let b: ServeProcess;
  let fingerprint: string;
  const inventory = () => (ok(host, ['list', '--json'], env).json!.result as unknown[]).length;
  const mint = (args: string[]) => ok(host, ['token', 'create', ...args], env).stdout.trim();

  beforeAll(async () => {
    requireBuiltCli();
    for (const d of [host, node, join(t.dir, 'a'), join(t.dir, 'b')]) mkdirSync(d);
    config = writeVaultConfig(host);
    ok(host, ['init', '--cn', 'Vault Token CA'], env);
    // Each instance has its own directory and a copy of certctl.yaml: what they share is Vault.
    for (const d of ['a', 'b']) copyFileSync(config.path, join(t.dir, d, 'certctl.yaml'));
    [a, b] = await Promise.all([startServe(join(t.dir, 'a'), env), startServe(join(t.dir, 'b'), env)]);
    fingerprint = run('openssl', ['x509', '-noout', '-fingerprint', '-sha256', '-in', a.caFile]).stdout.trim();
  });
  afterAll(async () => {
    for (const s of [a, b]) if (s) expect(await s.stop()).toBe(0);
    vaultCurl(vault, 'DELETE', `sys/mounts/${config.pkiMount}`);
    const walk = (dir: string): void => {
      for (const key of (vaultCurl(vault, 'LIST', `secret/metadata/${dir}`).json?.data?.keys ?? []) as string[]) {
        if (key.endsWith('/')) walk(`${dir}/${key.slice(0, -1)}`);
        else vaultCurl(vault, 'DELETE', `secret/metadata/${dir}/${key}`);
      }
    };
    walk(config.kvPrefix);
    t.cleanup();
  });

  it('a token used through one instance is refused by the other (exit 7); Vault keeps its hash, marked used, never the token', () => {
    const token = mint(['--profile', 'server', '--cn', 'node7.example', '--dns', 'node7.example', '--ttl', '15m']);
    const before = inventory();
    const enroll = (server: ServeProcess, out: string) =>
      certctl(node, ['enroll', '--server', server.url, '--token', token, '--ca-fingerprint', fingerprint, '--out', join(node, out), '--format', 'docker']);
    const first = enroll(a, 'docker');
    expect(first.status).toBe(0);
    expect(
      run('openssl', ['verify', '-CAfile', join(node, 'docker', 'ca.pem'), '-purpose', 'sslserver', join(node, 'docker', 'server-cert.pem')]).stdout,
    ).toMatch(/: OK/);
    const replay = enroll(b, 'replay');
    expect(replay.status).toBe(7);
    expect(replay.stderr).toMatch(/\(401\): token ([0-9a-f]{16}) was already used/);
    expect(existsSync(join(node, 'replay'))).toBe(false);
    expect(inventory()).toBe(before + 1);

    const id = /token ([0-9a-f]{16})/.exec(replay.stderr)![1];
    const keys = vaultCurl(vault, 'LIST', `secret/metadata/${config.kvPrefix}/_state/enroll-tokens`).json.data.keys as string[];
    const key = keys.find((k) => k.startsWith(id))!;
    expect(key).toHaveLength(64);
    const entry = vaultCurl(vault, 'GET', `secret/data/${config.kvPrefix}/_state/enroll-tokens/${key}`).json.data;
    expect(entry.data).toMatchObject({ value: { grant: { ca: 'default', profile: 'server', commonName: 'node7.example' } } });
    expect(entry.data.claimedAt).toBeDefined();
    expect(JSON.stringify(entry)).not.toContain(token.split('.')[2]);
    // The token's record is no CA.
    expect(ok(host, ['list', '--json'], env).status).toBe(0);
  });

  it('of 10 concurrent redemptions of one token over both instances exactly one gets a certificate; a refused name does not spend it', async () => {
    const token = mint(['--profile', 'server', '--cn', 'race.example', '--dns', 'race.example']);
    opensslEcCsr(node, '/CN=race.example', 'race.key', 'race.csr', ['-addext', 'subjectAltName=DNS:race.example']);
    opensslEcCsr(node, '/CN=evil.example', 'evil.key', 'evil.csr', ['-addext', 'subjectAltName=DNS:evil.example']);
    const headers = { authorization: `Bearer ${token}` };
    const before = inventory();
    const evil = await httpsCall(b, 'POST', '/v1/sign', { json: { csr: readFileSync(join(node, 'evil.csr'), 'utf8') }, headers });
    expect(evil.status).toBe(403);
    expect(evil.body.code).toBe('policy_violation');
    const csr = readFileSync(join(node, 'race.csr'), 'utf8');
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => httpsCall(i % 2 ? a : b, 'POST', '/v1/sign', { json: { csr }, headers })));
    expect(answers.filter((r) => r.status === 201)).toHaveLength(1);
    for (const r of answers.filter((x) => x.status !== 201)) expect(r.body).toMatchObject({ status: 401, code: 'unauthorized' });
    expect(inventory()).toBe(before + 1);
  });
});
