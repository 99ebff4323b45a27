/**
 * `certctl migrate --from file --to vault-kv --import-ca-key` against a real Vault-API server:
 * a file CA whose key is passphrase-encrypted moves into Vault's PKI engine (issuers/import/bundle,
 * the key decrypted in memory only), the KV copy keeps no key, and after `backend: vault` in
 * certctl.yaml Vault signs with the same CA certificate; certificates from before and after the
 * move verify against one `ca show` and Vault's CRL lists revocations from before and after.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { certctl, ok, requireBuiltCli, run, tempDir } from '../support/cli';
import { describeWithVault, vaultCurl, vaultEnv } from '../support/servers';

jest.setTimeout(300000);

describeWithVault('migrate --import-ca-key: a file CA key moves into Vault PKI (real Vault-API server)', (vault) => {
  const t = tempDir('certctl-vault-import-');
  const dir = t.dir;
  const id = randomBytes(4).toString('hex');
  const pkiMount = `pki-imp-${id}`;
  const kvPrefix = `certctl-imp-${id}`;
  const env = vaultEnv(vault);
  const writeConfig = (backend: string) =>
    writeFileSync(
      join(dir, 'certctl.yaml'),
      `backend: ${backend}\nfile:\n  dir: ./pki\nvault:\n  pki_mount: ${pkiMount}\n  kv_mount: secret\n  kv_prefix: ${kvPrefix}\n`,
    );
  const old: string[] = [];
  let fresh = '';
  const verify = (cert: string, extra: string[] = []) => run('openssl', ['verify', ...extra, '-CAfile', join(dir, 'ca.pem'), join(dir, cert)]);

  beforeAll(() => {
    requireBuiltCli();
    writeConfig('file');
    writeFileSync(join(dir, 'pass'), 'ca-secret-pass\n');
  });

  afterAll(() => {
    vaultCurl(vault, 'DELETE', `sys/mounts/${pkiMount}`);
    vaultCurl(vault, 'DELETE', `secret/metadata/${kvPrefix}/default/ca`);
    t.cleanup();
  });

  it('seeds a file CA with an encrypted key, three certificates, one revoked before the move', () => {
    ok(dir, ['init', '--cn', 'Import Root', '--passphrase-file', 'pass'], env);
    expect(readFileSync(join(dir, 'pki/default/ca.key'), 'utf8')).toContain('ENCRYPTED PRIVATE KEY');
    for (const n of [1, 2, 3]) {
      old.push(
        ok(dir, ['issue', 'server', '--cn', `old${n}.example`, '--out', `old${n}`, '--passphrase-file', 'pass', '--json'], env).json!.result.certificates[0]
          .serial,
      );
    }
    ok(dir, ['revoke', old[0], '--reason', 'keyCompromise'], env);
    ok(dir, ['crl', '--passphrase-file', 'pass'], env);
    writeFileSync(join(dir, 'ca.pem'), ok(dir, ['ca', 'show'], env).stdout);
  });

  it('refuses without the passphrase, and --import-ca-key other than --to vault-kv, before writing anything', () => {
    const noPass = certctl(dir, ['migrate', '--from', 'file', '--to', 'vault-kv', '--import-ca-key'], env);
    expect(noPass.status).not.toBe(0);
    expect(noPass.stderr).toMatch(/encrypted; give its passphrase/);
    expect(vaultCurl(vault, 'GET', `sys/mounts/${pkiMount}`).status).not.toBe(200);
    expect(vaultCurl(vault, 'GET', `secret/data/${kvPrefix}/default/ca`).status).toBe(404);
    const wrongTarget = certctl(dir, ['migrate', '--from', 'file', '--to', 'barbican', '--import-ca-key'], env);
    expect(wrongTarget.status).toBe(9);
    expect(wrongTarget.stderr).toContain('the barbican backend has no signer that can take a CA key; use --to vault');
  });

  it('--dry-run says the key goes to Vault PKI and writes nothing', () => {
    const r = ok(dir, ['migrate', '--from', 'file', '--to', 'vault-kv', '--import-ca-key', '--passphrase-file', 'pass', '--dry-run', '--json'], env).json!
      .result;
    expect(r.cas[0]).toMatchObject({ ca: 'default', caAction: 'create', caKey: true, caKeyImported: true, certificates: 3, revoked: 1 });
    expect(vaultCurl(vault, 'GET', `sys/mounts/${pkiMount}`).status).not.toBe(200);
  });

  it('imports certificate and key into Vault as issuer certctl-default; the KV copy keeps no key; a re-run imports nothing again', () => {
    const r = ok(dir, ['migrate', '--from', 'file', '--to', 'vault-kv', '--import-ca-key', '--passphrase-file', 'pass', '--json'], env);
    expect(r.json!.result.cas[0]).toMatchObject({ caKeyImported: true, copied: 3, verified: 3 });
    const notes = r.json!.result.notes.join('\n');
    expect(notes).toContain(`enabled the PKI secrets engine at ${pkiMount}/`);
    expect(notes).toContain('imported CA "default" (certificate and key) into Vault');
    const issuer = vaultCurl(vault, 'GET', `${pkiMount}/issuer/certctl-default`).json.data;
    expect(`${issuer.certificate.trim()}\n`).toBe(readFileSync(join(dir, 'ca.pem'), 'utf8'));
    expect(issuer.key_id).toMatch(/\w/);
    expect(vaultCurl(vault, 'GET', `${pkiMount}/roles/certctl-default-server-sig`).json.data.issuer_ref).toBe('certctl-default');
    const entry = vaultCurl(vault, 'GET', `secret/data/${kvPrefix}/default/ca`).json.data.data;
    expect(entry.key_pem).toBeUndefined();
    expect(entry.record.keyEncrypted).toBe(false);
    expect(JSON.stringify(entry)).not.toContain('PRIVATE KEY');
    // The source is left as it was: its key still encrypted, no decrypted copy beside it.
    expect(readFileSync(join(dir, 'pki/default/ca.key'), 'utf8')).toContain('ENCRYPTED PRIVATE KEY');

    // Without --json the operator reads the same notes on stderr.
    const again = ok(dir, ['migrate', '--from', 'file', '--to', 'vault-kv', '--import-ca-key', '--passphrase-file', 'pass'], env);
    expect(again.stdout).toMatch(/already there, reused; its key is in Vault PKI \([^)]+\/\), not in the store/);
    expect(again.stdout).toContain('0 copied, 3 already there, 3 verified');
    expect(again.stderr).toContain('nothing imported again');
    const issuers = vaultCurl(vault, 'LIST', `${pkiMount}/issuers`).json.data.keys;
    expect(issuers).toHaveLength(1);
  });

  it('with backend: vault, Vault signs with the same CA: old and new certificates verify against one ca show', () => {
    writeConfig('vault');
    expect(ok(dir, ['ca', 'show'], env).stdout).toBe(readFileSync(join(dir, 'ca.pem'), 'utf8'));
    fresh = ok(dir, ['issue', 'server', '--cn', 'new.example', '--out', 'new', '--json'], env).json!.result.certificates[0].serial;
    const vaultSerials = (vaultCurl(vault, 'LIST', `${pkiMount}/certs`).json.data.keys as string[]).map((s) => s.replace(/:/g, '').toUpperCase());
    expect(vaultSerials).toContain(fresh); // signed by Vault, not locally
    for (const cert of ['old1/cert.pem', 'old2/cert.pem', 'old3/cert.pem', 'new/cert.pem']) expect(verify(cert).stdout.trim()).toBe(`${join(dir, cert)}: OK`);
    const listed = ok(dir, ['list', '--json'], env)
      .json!.result.map((r: any) => r.serial)
      .sort();
    expect(listed).toEqual([...old, fresh].sort());
  });

  it("revoke works for a certificate signed before the move (Vault takes the certificate itself); Vault's CRL lists revocations from before and after", () => {
    ok(dir, ['revoke', old[1]], env);
    ok(dir, ['revoke', fresh], env);
    writeFileSync(join(dir, 'crl.pem'), ok(dir, ['crl'], env).stdout);
    expect(run('openssl', ['crl', '-in', join(dir, 'crl.pem'), '-CAfile', join(dir, 'ca.pem'), '-noout']).stderr).toMatch(/verify OK/);
    const text = run('openssl', ['crl', '-in', join(dir, 'crl.pem'), '-noout', '-text']).stdout;
    const listed = [...text.matchAll(/Serial Number: ([0-9A-F]+)/g)].map((m) => m[1].replace(/^0+/, ''));
    for (const s of [old[0], old[1], fresh]) expect(listed).toContain(s.replace(/^0+/, ''));
    expect(listed).not.toContain(old[2].replace(/^0+/, ''));
    const crlCheck = ['-crl_check', '-CRLfile', join(dir, 'crl.pem')];
    for (const cert of ['old1/cert.pem', 'old2/cert.pem', 'new/cert.pem']) {
      const r = verify(cert, crlCheck);
      expect(r.stdout + r.stderr).toContain('certificate revoked');
    }
    expect(verify('old3/cert.pem', crlCheck).status).toBe(0);
  });
});
