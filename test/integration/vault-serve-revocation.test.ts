/**
 * Two `certctl serve` instances over one real Vault (Vault PKI signs, KV v2 stores): OCSP is
 * answered by a delegated responder certificate each instance has Vault sign (sign-verbatim, for
 * id-pkix-ocsp-nocheck), and a revocation through one instance shows at once in the other's OCSP
 * answers and CRL. `openssl ocsp` and `openssl crl` are the clients.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { certctl, ok, requireBuiltCli, run, tempDir } from '../support/cli';
import { httpsCall, startServe, type ServeProcess } from '../support/serve';
import { describeWithVault, vaultCurl, vaultEnv, writeVaultConfig } from '../support/servers';
import { freePort } from '../support/tls-check';

jest.setTimeout(180000);

describeWithVault('certctl serve over Vault: delegated OCSP responder, revocations seen across instances', (vault) => {
  const t = tempDir('certctl-vault-serve-');
  const dir = t.dir;
  const env = vaultEnv(vault);
  let pkiMount = '';
  let a: ServeProcess | undefined;
  let b: ServeProcess | undefined;
  let plainB = '';
  const cert = (name: string) => join(dir, name, 'cert.pem');
  const serialOf = (name: string) =>
    run('openssl', ['x509', '-noout', '-serial', '-in', cert(name)])
      .stdout.trim()
      .split('=')[1];
  const ocspB = (name: string) => {
    const r = run('openssl', [
      'ocsp',
      '-issuer',
      join(dir, 'ca.pem'),
      '-CAfile',
      join(dir, 'ca.pem'),
      '-cert',
      cert(name),
      '-url',
      `${plainB}/ocsp/default`,
      '-resp_text',
    ]);
    return `${r.stdout}${r.stderr}`;
  };

  beforeAll(async () => {
    requireBuiltCli();
    const [portA, portB] = [await freePort(), await freePort()];
    plainB = `http://127.0.0.1:${portB}`;
    const serve = (port: number) =>
      `serve:\n  roles: { admin: { admin: true } }\n  clients: [{ cn: ops-admin, role: admin }]\n  public_http_listen: 127.0.0.1:${port}\n  ocsp: { responder_ttl: 6h }\n`;
    const written = writeVaultConfig(dir, serve(portA));
    pkiMount = written.pkiMount;
    // The second instance: the same mount and KV prefix, its own plain-HTTP port.
    writeFileSync(
      join(dir, 'b.yaml'),
      `backend: vault\nvault:\n  pki_mount: ${pkiMount}\n  kv_mount: secret\n  kv_prefix: ${written.kvPrefix}\n${serve(portB)}`,
    );
    ok(dir, ['init', '--cn', 'Vault Serve Root'], env);
    writeFileSync(join(dir, 'ca.pem'), ok(dir, ['ca', 'show'], env).stdout);
    for (const name of ['ops-admin', 'alice', 'bob']) ok(dir, ['issue', 'client', '--cn', name, '--out', join(dir, name)], env);
    a = await startServe(dir, env);
    b = await startServe(dir, { ...env, CERTCTL_CONFIG: join(dir, 'b.yaml') });
  });
  afterAll(async () => {
    if (a) expect(await a.stop()).toBe(0);
    if (b) expect(await b.stop()).toBe(0);
    vaultCurl(vault, 'DELETE', `sys/mounts/${pkiMount}`);
    t.cleanup();
  });

  it('answers with a responder certificate Vault signed: OCSP Signing, id-pkix-ocsp-nocheck, verified by openssl', () => {
    const good = ocspB('alice');
    expect(good).toContain('Response verify OK');
    expect(good).toContain(`${cert('alice')}: good`);
    expect(good).toContain('Responder Id: CN = certctl OCSP responder for default');
    expect(good).toContain('OCSP Signing');
    expect(good).toContain('OCSP No Check');
    // Vault holds it too: the responder certificate is in the inventory, profile ocsp.
    const listed = ok(dir, ['list', '--json'], env).json?.result as { profile: string; serial: string }[];
    expect(listed.filter((r) => r.profile === 'ocsp').length).toBeGreaterThanOrEqual(1);
  });

  it('a revocation through instance A shows at once in instance B: OCSP revoked with its reason, and B’s CRL lists it', async () => {
    expect(ocspB('bob')).toContain(`${cert('bob')}: good`);
    const admin = { cert: cert('ops-admin'), key: join(dir, 'ops-admin', 'key.pem') };
    const revoked = await httpsCall(a as ServeProcess, 'POST', '/v1/revoke', { ...admin, json: { serial: serialOf('bob'), reason: 'keyCompromise' } });
    expect(revoked.status).toBe(200);
    const after = ocspB('bob');
    expect(after).toContain('Response verify OK');
    expect(after).toContain(`${cert('bob')}: revoked`);
    expect(after).toMatch(/Reason: keyCompromise/);
    const crl = run('curl', ['-sS', '-o', join(dir, 'b.crl'), '-w', '%{http_code}', `${plainB}/crl/default.crl`]);
    expect(crl.stdout).toBe('200');
    const text = run('openssl', ['crl', '-inform', 'DER', '-in', join(dir, 'b.crl'), '-CAfile', join(dir, 'ca.pem'), '-noout', '-text']);
    expect(text.stderr).toContain('verify OK');
    expect(text.stdout.replace(/:/g, '')).toContain(serialOf('bob').replace(/^0+/, ''));
  });

  it('refuses serve.ocsp.responder: ca over Vault PKI at start-up, saying what to use', () => {
    writeFileSync(join(dir, 'c.yaml'), readFileSync(join(dir, 'b.yaml'), 'utf8').replace('ocsp: { responder_ttl: 6h }', 'ocsp: { responder: ca }'));
    const r = certctl(dir, ['serve', '--listen', '127.0.0.1:0'], { ...env, CERTCTL_CONFIG: join(dir, 'c.yaml') });
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/serve\.ocsp\.responder: ca — the vault-pki signer does not lend its CA key .* use delegated or auto/);
  });
});
