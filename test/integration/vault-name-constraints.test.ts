/**
 * Name constraints with the Vault PKI signer, against a real Vault-API server (1.14): what Vault's
 * sign-intermediate can write (permitted DNS domains) reaches the certificate; what it cannot
 * (excluded DNS, IP ranges — Vault ignores them with a warning) is refused with exit 9 before any
 * Vault call; certctl's policy refuses leaves outside the constraints before Vault signs.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { certctl, ok, run, tempDir } from '../support/cli';
import { describeWithVault, vaultCurl, vaultEnv, writeVaultConfig } from '../support/servers';

jest.setTimeout(180000);

describeWithVault('name constraints with the Vault PKI signer (real Vault-API server)', (vault) => {
  const t = tempDir('certctl-vault-nc-');
  const dir = t.dir;
  const { pkiMount } = writeVaultConfig(dir);
  const env = vaultEnv(vault);

  beforeAll(() => {
    ok(dir, ['init', '--cn', 'Vault NC Root'], env);
    writeFileSync(join(dir, 'root.pem'), ok(dir, ['ca', 'show'], env).stdout);
  });

  afterAll(() => {
    vaultCurl(vault, 'DELETE', `sys/mounts/${pkiMount}`);
    t.cleanup();
  });

  it('--permit-dns is passed to Vault: the intermediate Vault signed carries it, critical', () => {
    const r = ok(dir, ['--ca', 'inter', 'init', '--cn', 'Vault NC Intermediate', '--parent', 'default', '--permit-dns', 'internal.example', '--json'], env);
    expect(r.json!.result.nameConstraints).toEqual({ permittedDns: ['internal.example'], excludedDns: [], permittedIps: [], excludedIps: [] });
    writeFileSync(join(dir, 'inter.pem'), r.json!.result.certificate);
    const text = run('openssl', ['x509', '-in', join(dir, 'inter.pem'), '-noout', '-ext', 'nameConstraints']).stdout;
    expect(text).toMatch(/X509v3 Name Constraints: critical\s+Permitted:\s+DNS:internal\.example\s*$/);
    // Vault's own copy of the issuer is the same certificate.
    expect(vaultCurl(vault, 'GET', `${pkiMount}/issuer/certctl-inter`).json.data.certificate.trim()).toBe(r.json!.result.certificate.trim());
  });

  it('a leaf inside is signed by Vault and verifies; one outside is refused with exit 5 before Vault signs', () => {
    ok(dir, ['--ca', 'inter', 'issue', 'server', '--cn', 'api.internal.example', '--dns', 'api.internal.example', '--out', 'in'], env);
    const v = run('openssl', ['verify', '-CAfile', join(dir, 'root.pem'), '-untrusted', join(dir, 'inter.pem'), join(dir, 'in', 'cert.pem')]);
    expect(v.stdout.trim()).toBe(`${join(dir, 'in', 'cert.pem')}: OK`);
    const before = vaultCurl(vault, 'LIST', `${pkiMount}/certs`).json.data.keys.length;
    const out = certctl(dir, ['--ca', 'inter', 'issue', 'server', '--cn', 'api.other.example', '--dns', 'api.other.example'], env);
    expect(out.status).toBe(5);
    expect(out.stderr).toContain('DNS name "api.other.example" is outside the name constraints of CA "inter"');
    expect(out.stderr).toContain('permitted DNS subtrees (internal.example)');
    expect(vaultCurl(vault, 'LIST', `${pkiMount}/certs`).json.data.keys.length).toBe(before);
  });

  it.each([
    ['--exclude-dns', 'bad.internal.example'],
    ['--permit-ip', '10.0.0.0/8'],
    ['--exclude-ip', '192.168.0.0/16'],
  ])('%s is refused with exit 9 naming it, and nothing is created in Vault', (flag, value) => {
    const r = certctl(dir, ['--ca', 'refused', 'init', '--cn', 'Refused', '--parent', 'default', '--permit-dns', 'internal.example', flag, value], env);
    expect(r.status).toBe(9);
    expect(r.stderr).toContain(`cannot write ${flag} ${value}`);
    // (Vault 1.14 answers GET issuer/<unknown name> with a 500, so look in the list.)
    const issuers = vaultCurl(vault, 'LIST', `${pkiMount}/issuers`).json.data.key_info as Record<string, { issuer_name: string }>;
    expect(Object.values(issuers).map((i) => i.issuer_name)).not.toContain('certctl-refused');
    expect(Object.values(issuers).map((i) => i.issuer_name)).toContain('certctl-inter');
  });

  it('Vault 1.14 itself ignores excluded DNS and IP ranges on sign-intermediate (why certctl refuses them)', () => {
    const csr = vaultCurl(vault, 'POST', `${pkiMount}/intermediate/generate/internal`, { common_name: 'probe', key_type: 'ec', key_bits: 256 }).json.data.csr;
    const signed = vaultCurl(vault, 'POST', `${pkiMount}/issuer/certctl-default/sign-intermediate`, {
      csr,
      common_name: 'probe',
      excluded_dns_domains: ['bad.example'],
      permitted_ip_ranges: ['10.0.0.0/8'],
    }).json;
    expect(signed.warnings.join('\n')).toMatch(/ignored these unrecognized parameters: \[excluded_dns_domains permitted_ip_ranges\]/);
    writeFileSync(join(dir, 'probe.pem'), signed.data.certificate);
    expect(run('openssl', ['x509', '-in', join(dir, 'probe.pem'), '-noout', '-text']).stdout).not.toContain('Name Constraints');
  });
});
