/**
 * The CLI contract scripts rely on: --help examples, --json on every command with no
 * secrets in it, serial spellings, and the progress bar of a fleet batch on a terminal.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CERTCTL_BIN, certctl, ok, run, tempDir, opensslEcCsr } from '../support/cli';

const COMMANDS = [
  ['init'],
  ['ca', 'show'],
  ['issue'],
  ['sign'],
  ['list'],
  ['show'],
  ['revoke'],
  ['crl'],
  ['renew'],
  ['check'],
  ['export'],
  ['agent'],
  ['token', 'create'],
  ['enroll'],
];

describe('certctl CLI contract', () => {
  const { dir, cleanup } = tempDir();
  afterAll(cleanup);

  it.each(COMMANDS)('%s --help shows an example', (...cmd) => {
    const r = certctl(dir, [...cmd, '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Examples?:\n\s+certctl /);
  });

  it('top-level --help lists every command and the exit codes', () => {
    const r = certctl(dir, ['--help']);
    for (const c of ['init', 'ca', 'issue', 'sign', 'list', 'show', 'revoke', 'crl', 'renew', 'check', 'export']) expect(r.stdout).toContain(`  ${c}`);
    expect(r.stdout).toContain('5 policy violation');
    expect(r.stdout).toContain('10 check: something expires within the window');
  });

  it('--json on every command gives {"status":0,"result":…} and never a private key or passphrase', () => {
    writeFileSync(join(dir, 'pass'), 'sekrit-passphrase\n');
    writeFileSync(join(dir, 'pw'), 'p12-password\n');
    const results: Record<string, unknown> = {};
    const j = (name: string, args: string[]) => {
      const r = certctl(dir, ['--json', '--passphrase-file', 'pass', ...args]);
      expect([name, r.status, r.json?.status]).toEqual([name, 0, 0]);
      expect(r.stdout).not.toMatch(/PRIVATE KEY|sekrit-passphrase|p12-password/);
      expect(r.stderr).not.toMatch(/PRIVATE KEY|sekrit-passphrase|p12-password/);
      results[name] = r.json?.result;
      return r.json?.result;
    };
    j('init', ['init', '--cn', 'JSON CA']);
    j('ca show', ['ca', 'show']);
    const issued = j('issue', ['issue', 'server', '--cn', 'j.example.com', '--out', 'j']) as { certificates: { serial: string }[]; files: string[] };
    const serial = issued.certificates[0].serial;
    expect(issued.files.map((f) => f.replace(/^.*\//, '')).sort()).toEqual(['ca.pem', 'cert.pem', 'chain.pem', 'key.pem']);
    j('p12', ['issue', 'client', '--cn', 'p', '--format', 'p12', '--password-file', 'pw', '--out', 'p']);
    opensslEcCsr(dir, '/CN=csr-client', join(dir, 'c.key'), join(dir, 'c.csr'));
    expect((j('sign', ['sign', '--csr', 'c.csr']) as { certificate: string }).certificate).toMatch(/BEGIN CERTIFICATE/);
    expect((j('list', ['list']) as unknown[]).length).toBe(3);
    expect((j('show', ['show', serial.toLowerCase()]) as { serial: string }).serial).toBe(serial);
    j('renew', ['renew', serial, '--out', 'r']);
    j('export', ['export', serial, '--format', 'k8s', '--out', 'secret.yaml']);
    expect((j('revoke', ['revoke', serial, '--reason', 'superseded']) as { status: string }).status).toBe('revoked');
    expect((j('crl', ['crl']) as { crl: string }).crl).toMatch(/BEGIN X509 CRL/);
  });

  it('draws a progress bar for a fleet batch on a terminal, and none in a pipe', () => {
    ok(dir, ['--ca', 'fleet', 'init', '--cn', 'Fleet CA']);
    const tty = run(
      'script',
      ['-qec', `${process.execPath} ${CERTCTL_BIN} --ca fleet issue node --count 600 --format flocker --out ${join(dir, 'fleet-tty')}`, '/dev/null'],
      { cwd: dir },
    );
    expect(tty.status).toBe(0);
    expect(tty.stdout).toMatch(/issuing \[.*\] \d+\/600/);
    const piped = certctl(dir, ['--ca', 'fleet', 'issue', 'node', '--count', '5', '--format', 'flocker', '--out', 'fleet-pipe']);
    expect(piped.status).toBe(0);
    expect(piped.stderr).not.toContain('issuing [');
  });
});

describe('revoking several certificates at once', () => {
  const { dir, cleanup } = tempDir();
  afterAll(cleanup);

  it('revokes serials from stdin all or none, and one CRL lists them', () => {
    ok(dir, ['init', '--cn', 'Batch CA']);
    ok(dir, ['issue', 'node', '--count', '3', '--format', 'flocker', '--out', 'n']);
    const serials: string[] = certctl(dir, ['list', '--json']).json!.result.map((r: { serial: string }) => r.serial);
    const bad = certctl(dir, ['--json', 'revoke', '-'], {}, `${serials[0]}\nDEADBEEF\n`);
    expect(bad.status).toBe(4);
    expect(certctl(dir, ['list', '--revoked', '--json']).json!.result).toEqual([]);
    const good = certctl(dir, ['--json', 'revoke', '-', '--reason', 'cessationOfOperation'], {}, `${serials[0]}\n${serials[1].toLowerCase()}\n`);
    expect(good.status).toBe(0);
    expect(good.json!.result.map((r: { serial: string }) => r.serial)).toEqual(serials.slice(0, 2));
    writeFileSync(join(dir, 'ca.pem'), certctl(dir, ['ca', 'show']).stdout);
    writeFileSync(join(dir, 'ca.crl'), certctl(dir, ['crl']).stdout);
    const text = run('openssl', ['crl', '-in', join(dir, 'ca.crl'), '-noout', '-text']).stdout;
    for (const s of serials.slice(0, 2)) expect(text).toContain(`Serial Number: ${s}`);
    expect(text).not.toContain(`Serial Number: ${serials[2]}`);
    expect(text).toContain('Cessation Of Operation');
  });
});
