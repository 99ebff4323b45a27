import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { certctl, requireBuiltCli, requireTool, run, tempDir } from '../support/cli';
import { describeWithSoftHsm, type SoftHsm } from '../support/softhsm';

jest.setTimeout(180000);

/** The private-key object pkcs11-tool lists under `label`, as text (attributes, access flags). */
function privateKeyListing(hsm: SoftHsm, label: string): string {
  const r = hsm.tool(['--list-objects', '--type', 'privkey', '--label', label]);
  expect(r.status).toBe(0);
  return r.stdout;
}

/**
 * The independent checks: pkcs11-tool lists the key as sensitive, never extractable and for
 * signing only; a separate process asking the token for its secret value is refused.
 */
function expectKeyLockedIn(hsm: SoftHsm, label: string, generated = true): void {
  const listing = privateKeyListing(hsm, label);
  expect(listing).toContain(`label:      ${label}`);
  expect(listing).toMatch(
    generated ? /Access:\s+sensitive, always sensitive, never extractable, local/ : /Access:\s+sensitive, always sensitive, never extractable/,
  );
  expect(listing).toMatch(/Usage:\s+sign\s*$/m);
  expect(hsm.readPrivateValue(label)).toBe('CKR_ATTRIBUTE_SENSITIVE');
}

// The README's workflows with `signer: pkcs11` (SoftHSM2) and `store: file`, run as a user runs
// them with the built CLI, checked by openssl and pkcs11-tool.
describeWithSoftHsm('signer: pkcs11 with the built CLI', (hsm) => {
  let dir: string;
  let cleanup: () => void;
  let n = 0;
  const env = () => hsm.env;
  const cli = (args: string[], extra: Record<string, string> = {}) => certctl(dir, args, { ...env(), ...extra });
  const openssl = (args: string[], input?: string) => run('openssl', args, { cwd: dir, input });

  beforeAll(() => {
    requireBuiltCli();
    requireTool('openssl', ['version']);
  });
  beforeEach(() => {
    ({ dir, cleanup } = tempDir('certctl-e2e-pkcs11-'));
    n++;
    writeFileSync(join(dir, 'certctl.yaml'), `signer: pkcs11\nstore: file\nfile:\n  dir: pki\n${hsm.section(`e2e${n}-{ca}`)}`);
  });
  afterEach(() => cleanup());

  it('init, issue server, sign --csr, revoke, crl: openssl verifies everything; the CA key is only in the token', () => {
    const init = cli(['init', '--cn', 'HSM Root CA']);
    expect(init.status).toBe(0);
    expect(init.stderr).toContain(`generated in PKCS#11 token "${hsm.tokenLabel}" as "e2e${n}-default"`);
    expect(existsSync(join(dir, 'pki', 'default', 'ca.crt'))).toBe(true);
    expect(existsSync(join(dir, 'pki', 'default', 'ca.key'))).toBe(false);
    expectKeyLockedIn(hsm, `e2e${n}-default`);

    expect(cli(['issue', 'server', '--cn', 'api.example', '--dns', 'api.example', '--ip', '10.0.0.5', '--out', 'tls']).status).toBe(0);
    expect(openssl(['verify', '-CAfile', 'pki/default/ca.crt', 'tls/cert.pem']).stdout).toContain('tls/cert.pem: OK');

    expect(
      openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'c.key', '-subj', '/CN=alice', '-out', 'c.csr'])
        .status,
    ).toBe(0);
    const signed = cli(['sign', '--csr', 'c.csr']);
    expect(signed.status).toBe(0);
    writeFileSync(join(dir, 'c.crt'), signed.stdout);
    expect(openssl(['verify', '-CAfile', 'pki/default/ca.crt', 'c.crt']).stdout).toContain('c.crt: OK');

    const serial = new X509Certificate(readFileSync(join(dir, 'tls', 'cert.pem'))).serialNumber;
    expect(cli(['revoke', serial, '--reason', 'keyCompromise']).status).toBe(0);
    const crl = cli(['crl']);
    expect(crl.status).toBe(0);
    writeFileSync(join(dir, 'ca.crl'), crl.stdout);
    expect(openssl(['crl', '-in', 'ca.crl', '-CAfile', 'pki/default/ca.crt', '-noout']).stderr).toContain('verify OK');
    expect(openssl(['crl', '-in', 'ca.crl', '-noout', '-text']).stdout).toContain(`Serial Number: ${serial}`);
    const revoked = openssl(['verify', '-crl_check', '-CAfile', 'pki/default/ca.crt', '-CRLfile', 'ca.crl', 'tls/cert.pem']);
    expect(revoked.status).not.toBe(0);
    expect(revoked.stdout + revoked.stderr).toContain('certificate revoked');
  });

  it.each(['ec-p384', 'rsa-2048', 'rsa-3072', 'rsa-4096', 'ed25519'])(
    'init --key-type %s generates the key in the token; an intermediate and a leaf verify',
    (keyType) => {
      expect(cli(['init', '--cn', `Root ${keyType}`, '--key-type', keyType]).status).toBe(0);
      expectKeyLockedIn(hsm, `e2e${n}-default`);
      expect(new X509Certificate(readFileSync(join(dir, 'pki', 'default', 'ca.crt'))).publicKey.asymmetricKeyType).toBe(
        keyType.startsWith('rsa') ? 'rsa' : keyType === 'ed25519' ? 'ed25519' : 'ec',
      );
      expect(cli(['--ca', 'issuing', 'init', '--cn', 'Issuing', '--parent', 'default']).status).toBe(0);
      expect(cli(['--ca', 'issuing', 'issue', 'client', '--cn', 'bob', '--out', 'bob']).status).toBe(0);
      writeFileSync(join(dir, 'chain.pem'), readFileSync(join(dir, 'pki', 'issuing', 'ca.crt')));
      expect(openssl(['verify', '-CAfile', 'pki/default/ca.crt', '-untrusted', 'chain.pem', 'bob/cert.pem']).stdout).toContain('bob/cert.pem: OK');
    },
  );

  it('init --key-label uses a key made beforehand by pkcs11-tool; --key-type must match it', () => {
    const label = `premade-${n}`;
    expect(hsm.tool(['--keypairgen', '--key-type', 'EC:secp384r1', '--label', label, '--id', `a1b2c3${n}0`]).status).toBe(0);
    const wrongType = cli(['init', '--cn', 'Premade', '--key-label', label]);
    expect(wrongType.status).toBe(2);
    expect(wrongType.stderr).toContain('give --key-type ec-p384');
    expect(cli(['init', '--cn', 'Premade', '--key-label', label, '--key-type', 'ec-p384']).status).toBe(0);
    // Later commands find the key by the certificate's public key: no key_label names it.
    expect(cli(['issue', 'server', '--cn', 'p.example', '--dns', 'p.example', '--out', 'p']).status).toBe(0);
    expect(openssl(['verify', '-CAfile', 'pki/default/ca.crt', 'p/cert.pem']).stdout).toContain('p/cert.pem: OK');
    expect(cli(['init', '--cn', 'Other', '--key-label', 'no-such-key', '--key-type', 'ec-p384'], {}).status).toBe(8); // the CA exists
  });

  it('migrate --from file --to file --import-ca-key --signer pkcs11 moves a file CA key into the token, then removes it from the store', () => {
    // A CA made the ordinary way: its key, encrypted, in the file store.
    writeFileSync(join(dir, 'pass'), 'ca passphrase\n');
    const fileOnly = join(dir, 'file.yaml');
    writeFileSync(fileOnly, 'file:\n  dir: pki\n');
    expect(cli(['--config', fileOnly, 'init', '--cn', 'Old CA', '--passphrase-file', 'pass']).status).toBe(0);
    expect(
      cli(['--config', fileOnly, 'issue', 'server', '--cn', 'before.example', '--dns', 'before.example', '--out', 'before', '--passphrase-file', 'pass'])
        .status,
    ).toBe(0);
    expect(existsSync(join(dir, 'pki', 'default', 'ca.key'))).toBe(true);

    const dry = cli(['migrate', '--from', 'file', '--to', 'file', '--import-ca-key', '--signer', 'pkcs11', '--dry-run', '--passphrase-file', 'pass']);
    expect(dry.status).toBe(0);
    expect(dry.stdout).toContain('key would move into');
    expect(existsSync(join(dir, 'pki', 'default', 'ca.key'))).toBe(true);

    const moved = cli(['migrate', '--from', 'file', '--to', 'file', '--import-ca-key', '--signer', 'pkcs11', '--passphrase-file', 'pass']);
    expect(moved.status).toBe(0);
    expect(moved.stdout).toContain(
      `CA "default": key moved into PKCS#11 token "${hsm.tokenLabel}", checked with a test signature, removed from the file store`,
    );
    expect(existsSync(join(dir, 'pki', 'default', 'ca.key'))).toBe(false);
    expectKeyLockedIn(hsm, `e2e${n}-default`, false);

    // The token signs for the old CA now; the old certificates still verify and can be revoked.
    expect(cli(['issue', 'server', '--cn', 'after.example', '--dns', 'after.example', '--out', 'after']).status).toBe(0);
    expect(openssl(['verify', '-CAfile', 'pki/default/ca.crt', 'after/cert.pem', 'before/cert.pem']).stdout).toMatch(
      /after\/cert.pem: OK[\s\S]*before\/cert.pem: OK/,
    );
    // Running it again finds no key to move.
    expect(cli(['migrate', '--from', 'file', '--to', 'file', '--import-ca-key', '--signer', 'pkcs11']).stdout).toContain('the store holds no key of it');
  });

  it('--signer without --import-ca-key, and a signer that cannot take keys, are refused', () => {
    expect(cli(['migrate', '--from', 'file', '--to', 'file', '--signer', 'pkcs11']).status).toBe(2);
    const r = cli(['migrate', '--from', 'file', '--to', 'file', '--import-ca-key', '--signer', 'barbican']);
    expect(r.status).toBe(9);
    expect(r.stderr).toContain('or --signer vault or pkcs11');
  });
});
