/**
 * End to end: revoke a certificate, publish the CRL, and check that OpenSSL
 * honours it; list/revoke error exits; serials as `openssl x509 -serial` prints them.
 */

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { certctl, run, tempDir, type CliResult, requireTool, requireBuiltCli, ok } from '../support/cli';

jest.setTimeout(120000);

/** The serial exactly as `openssl x509 -serial` prints it, without the "serial=" prefix. */
function opensslSerial(cwd: string, file: string): string {
  const r = run('openssl', ['x509', '-in', file, '-noout', '-serial'], { cwd });
  expect(r.status).toBe(0);
  const m = /^serial=([0-9A-F]+)$/.exec(r.stdout.trim());
  if (!m) throw new Error(`unexpected openssl -serial output: ${r.stdout}`);
  return m[1];
}

/** "5DFA0B…" → "5d:fa:0b:…" */
function lowerWithColons(hex: string): string {
  return hex.toLowerCase().match(/../g)!.join(':');
}

describe('revocation and the CRL', () => {
  let dir: string;
  let cleanup: () => void;
  let revokedSerial: string;
  let goodSerial: string;
  let revokeResult: CliResult;

  beforeAll(() => {
    requireBuiltCli();
    requireTool('openssl', ['version']);
    ({ dir, cleanup } = tempDir('certctl-e2e-revocation-'));
    ok(dir, ['init', '--cn', 'certctl e2e revocation root']);
    ok(dir, ['issue', 'client', '--cn', 'mallory', '--out', 'revoked']);
    ok(dir, ['issue', 'client', '--cn', 'alice', '--out', 'good']);
    revokedSerial = opensslSerial(dir, 'revoked/cert.pem');
    goodSerial = opensslSerial(dir, 'good/cert.pem');
    // The serial as a user pastes it from `openssl x509 -text`: lower case with colons.
    revokeResult = certctl(dir, ['--json', 'revoke', lowerWithColons(revokedSerial), '--reason', 'keyCompromise']);
    writeFileSync(join(dir, 'ca.crl'), ok(dir, ['crl']).stdout);
  });

  afterAll(() => cleanup?.());

  test('revoke (serial lower-case with colons) succeeds and reports the reason', () => {
    expect(revokeResult.stderr).not.toMatch(/^certctl: /m);
    expect(revokeResult.status).toBe(0);
    expect(revokeResult.json).toMatchObject({
      status: 0,
      result: { serial: revokedSerial, status: 'revoked', revocationReason: 'keyCompromise', commonName: 'mallory' },
    });
  });

  test('crl prints one PEM CRL', () => {
    const r = ok(dir, ['crl']);
    expect(r.stdout).toMatch(/^-----BEGIN X509 CRL-----\n[A-Za-z0-9+/=\n]+-----END X509 CRL-----\n$/);
  });

  test('openssl crl -CAfile ca.pem verifies the CRL signature', () => {
    const r = run('openssl', ['crl', '-in', 'ca.crl', '-CAfile', 'revoked/ca.pem', '-noout'], { cwd: dir });
    expect(r.status).toBe(0);
    expect(r.stderr.trim()).toBe('verify OK');
  });

  test('the CRL does not verify against another CA', () => {
    const other = tempDir('certctl-e2e-revocation-other-');
    try {
      ok(other.dir, ['init', '--cn', 'certctl e2e revocation root']); // same name, different key
      const otherCa = ok(other.dir, ['ca', 'show']).stdout;
      writeFileSync(join(other.dir, 'ca.pem'), otherCa);
      const r = run('openssl', ['crl', '-in', join(dir, 'ca.crl'), '-CAfile', join(other.dir, 'ca.pem'), '-noout']);
      // OpenSSL 3.0's `crl` exits 0 even on a bad signature; only its message tells.
      expect(r.stderr).toMatch(/verify failure/);
      expect(r.stderr).not.toMatch(/verify OK/);
    } finally {
      other.cleanup();
    }
  });

  test('the CRL lists the revoked serial with reason keyCompromise, and only it', () => {
    const text = run('openssl', ['crl', '-in', 'ca.crl', '-noout', '-text'], { cwd: dir }).stdout;
    const listed = [...text.matchAll(/Serial Number: ([0-9A-F]+)/g)].map((m) => m[1]);
    expect(listed).toEqual([revokedSerial]);
    expect(text).toMatch(/CRL Reason Code:\s*\n\s*Key Compromise/);
    expect(text).toMatch(/Issuer: CN = certctl e2e revocation root/);
  });

  test('openssl verify -crl_check reports the revoked certificate as revoked', () => {
    const r = run('openssl', ['verify', '-crl_check', '-CAfile', 'revoked/ca.pem', '-CRLfile', 'ca.crl', 'revoked/cert.pem'], { cwd: dir });
    expect(r.status).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/certificate revoked/);
  });

  test('openssl verify -crl_check passes the other certificate', () => {
    const r = run('openssl', ['verify', '-crl_check', '-CAfile', 'good/ca.pem', '-CRLfile', 'ca.crl', 'good/cert.pem'], { cwd: dir });
    expect(r.stdout.trim()).toBe('good/cert.pem: OK');
    expect(r.status).toBe(0);
  });

  test('list --revoked --json shows only the revoked certificate', () => {
    const r = ok(dir, ['list', '--revoked', '--json']);
    expect(r.json!.status).toBe(0);
    const rows = r.json!.result as Array<{ serial: string; status: string }>;
    expect(rows.map((c) => c.serial)).toEqual([revokedSerial]);
    expect(rows[0].status).toBe('revoked');
    // while plain list still has both, the good one valid
    const all = ok(dir, ['list', '--json']).json!.result as Array<{ serial: string; status: string }>;
    expect(all.map((c) => c.serial).sort()).toEqual([revokedSerial, goodSerial].sort());
    expect(all.find((c) => c.serial === goodSerial)!.status).toBe('valid');
  });

  test('revoking again is a conflict: exit 8', () => {
    const r = certctl(dir, ['revoke', revokedSerial]);
    expect(r.status).toBe(8);
    expect(r.stderr).toMatch(/already revoked/);
    const j = certctl(dir, ['--json', 'revoke', revokedSerial, '--reason', 'superseded']);
    expect(j.status).toBe(8);
    expect(j.json).toMatchObject({ status: 8, error: { code: 'conflict' } });
    // the original reason is kept
    expect(ok(dir, ['show', revokedSerial, '--json']).json!.result.revocationReason).toBe('keyCompromise');
  });

  test('revoking an unknown serial: exit 4', () => {
    const unknown = revokedSerial.replace(/.$/, (c) => (c === '0' ? '1' : '0'));
    const r = certctl(dir, ['--json', 'revoke', unknown]);
    expect(r.status).toBe(4);
    expect(r.json).toMatchObject({ status: 4, error: { code: 'not_found' } });
  });

  test('a serial is accepted as openssl prints it, lower case, and with colons', () => {
    const forms = [
      `serial=${goodSerial}`, // the raw line of `openssl x509 -serial`
      goodSerial,
      goodSerial.toLowerCase(),
      lowerWithColons(goodSerial),
      lowerWithColons(goodSerial).toUpperCase(),
    ];
    for (const form of forms) {
      const r = certctl(dir, ['--json', 'show', form]);
      expect({ form, status: r.status, serial: r.json?.result?.serial }).toEqual({ form, status: 0, serial: goodSerial });
    }
  });

  test('a malformed serial is invalid input: exit 2', () => {
    expect(certctl(dir, ['revoke', 'not-a-serial']).status).toBe(2);
  });

  test('a later CRL has a higher CRL number and lists a second revocation with its reason', () => {
    const crlNumber = (pem: string) => {
      const r = run('openssl', ['crl', '-noout', '-crlnumber'], { input: pem });
      return BigInt(r.stdout.trim().replace(/^crlNumber=/, ''));
    };
    const first = crlNumber(ok(dir, ['crl']).stdout);
    ok(dir, ['revoke', lowerWithColons(goodSerial), '--reason', 'superseded']);
    const second = ok(dir, ['crl']).stdout;
    expect(crlNumber(second)).toBeGreaterThan(first);
    writeFileSync(join(dir, 'ca2.crl'), second);
    const r = run('openssl', ['verify', '-crl_check', '-CAfile', 'good/ca.pem', '-CRLfile', 'ca2.crl', 'good/cert.pem'], { cwd: dir });
    expect(r.status).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/certificate revoked/);
    const text = run('openssl', ['crl', '-in', 'ca2.crl', '-noout', '-text'], { cwd: dir }).stdout;
    expect(text).toMatch(/Superseded/);
    expect(text).toMatch(/Key Compromise/);
  });
});

describe('revocation with an intermediate CA', () => {
  let dir: string;
  let cleanup: () => void;
  let interSerial: string;

  beforeAll(() => {
    requireBuiltCli();
    requireTool('openssl', ['version']);
    ({ dir, cleanup } = tempDir('certctl-e2e-revocation-inter-'));
    ok(dir, ['init', '--cn', 'certctl e2e revocation root']);
    ok(dir, ['--ca', 'inter', 'init', '--cn', 'certctl e2e revocation intermediate', '--parent', 'default']);
    writeFileSync(join(dir, 'inter.pem'), ok(dir, ['--ca', 'inter', 'ca', 'show']).stdout);
    interSerial = opensslSerial(dir, 'inter.pem');
    ok(dir, ['--ca', 'inter', 'issue', 'client', '--cn', 'mallory', '--out', 'revoked']);
    ok(dir, ['--ca', 'inter', 'issue', 'client', '--cn', 'alice', '--out', 'good']);
    ok(dir, ['--ca', 'inter', 'revoke', opensslSerial(dir, 'revoked/cert.pem'), '--reason', 'keyCompromise']);
  });

  afterAll(() => cleanup?.());

  /** Root and intermediate CRLs in one file, for -crl_check_all. */
  function writeCrls(): void {
    writeFileSync(join(dir, 'all.crl'), ok(dir, ['crl']).stdout + ok(dir, ['--ca', 'inter', 'crl']).stdout);
  }

  function verifyAll(leafDir: string): CliResult {
    return run(
      'openssl',
      ['verify', '-crl_check_all', '-CAfile', `${leafDir}/ca.pem`, '-untrusted', `${leafDir}/chain.pem`, '-CRLfile', 'all.crl', `${leafDir}/cert.pem`],
      { cwd: dir },
    );
  }

  test('the intermediate CRL is signed by the intermediate and verifies against it', () => {
    writeCrls();
    writeFileSync(join(dir, 'inter.crl'), ok(dir, ['--ca', 'inter', 'crl']).stdout);
    const r = run('openssl', ['crl', '-in', 'inter.crl', '-CAfile', 'inter.pem', '-noout', '-issuer', '-nameopt', 'RFC2253'], { cwd: dir });
    expect(r.stderr.trim()).toBe('verify OK');
    expect(r.stdout.trim()).toBe('issuer=CN=certctl e2e revocation intermediate');
  });

  test('openssl verify -crl_check_all: the revoked leaf is revoked, the other passes', () => {
    writeCrls();
    const bad = verifyAll('revoked');
    expect(bad.status).not.toBe(0);
    expect(bad.stdout + bad.stderr).toMatch(/certificate revoked/);
    const good = verifyAll('good');
    expect(good.stdout.trim()).toBe('good/cert.pem: OK');
  });

  // BUG: `init --parent` does not record the intermediate in the parent's inventory,
  // so the parent cannot show, list or revoke it (exit 4, "no certificate with serial"),
  // and a compromised intermediate can never be put on the root's CRL.
  test('the parent CA knows its intermediate and can revoke it; its leaves then fail -crl_check_all', () => {
    const shown = certctl(dir, ['--json', 'show', interSerial]);
    expect({ status: shown.status, profile: shown.json?.result?.profile, error: shown.json?.error?.message }).toEqual({
      status: 0,
      profile: 'intermediate',
      error: undefined,
    });
    const revoked = certctl(dir, ['--json', 'revoke', interSerial, '--reason', 'cessationOfOperation']);
    expect({ status: revoked.status, error: revoked.json?.error?.message }).toEqual({ status: 0, error: undefined });
    writeCrls();
    const r = verifyAll('good');
    expect(r.status).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/certificate revoked/);
  });
});
