/**
 * End to end: `init --parent --permit-dns/--exclude-dns/--permit-ip/--exclude-ip` with the built CLI.
 * certctl refuses names outside the constraints (exit 5); leaves FORCED outside them — signed here
 * with `openssl x509 -req` and the intermediate's key, bypassing certctl — are rejected by OpenSSL,
 * Go crypto/x509 (tools/verify-chain-go) and pyca/cryptography (tools/verify_chain.py), while leaves
 * inside, made the same way or by certctl, are accepted by all three; zlint stays clean.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { certctl, ok, opensslEcReq, requireBuiltCli, requireTool, run, tempDir } from '../support/cli';

jest.setTimeout(300000);

const REPO = resolve(__dirname, '..', '..');
const VERIFY_CHAIN = join(REPO, 'tools', 'verify_chain.py');

describe('name constraints (built CLI, three independent verifiers)', () => {
  const t = tempDir('certctl-e2e-nc-');
  const dir = t.dir;
  let goVerifier = '';

  beforeAll(() => {
    requireBuiltCli();
    requireTool('openssl', ['version']);
    requireTool('python3', ['--version']);
    requireTool('go', ['version']);
    const built = run(join(REPO, 'tools', 'install-go-verifier.sh'), [], { cwd: REPO, timeout: 300000 });
    if (built.status !== 0) throw new Error(`tools/install-go-verifier.sh failed:\n${built.stderr}`);
    goVerifier = built.stdout.trim();
    ok(dir, ['init', '--cn', 'certctl e2e NC root']);
    writeFileSync(join(dir, 'root.pem'), ok(dir, ['ca', 'show']).stdout);
  });

  afterAll(() => t.cleanup());

  /** Verdicts of the three verifiers for `leaf` as a TLS server certificate for `name`. */
  function verdicts(leaf: string, name: string): { openssl: boolean; go: string; python: string } {
    const o = run('openssl', ['verify', '-CAfile', 'root.pem', '-untrusted', 'inter.pem', leaf], { cwd: dir });
    const g = run(goVerifier, ['--ca', 'root.pem', '--intermediate', 'inter.pem', '--leaf', leaf, '--server-name', name], { cwd: dir });
    const p = run('python3', [VERIFY_CHAIN, '--ca', 'root.pem', '--intermediate', 'inter.pem', '--leaf', leaf, '--server-name', name], { cwd: dir });
    return { openssl: o.status === 0 && o.stdout.trim() === `${leaf}: OK`, go: g.stdout.trim(), python: p.stdout.trim() };
  }

  /** A leaf signed with the intermediate's key by openssl, bypassing certctl's policy. */
  function forcedLeaf(file: string, cn: string, san: string): void {
    opensslEcReq(dir, `${file}.key`, ['-new', '-subj', `/CN=${cn}`, '-out', `${file}.csr`]);
    writeFileSync(
      join(dir, `${file}.ext`),
      `basicConstraints=critical,CA:false\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=${san}\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n`,
    );
    const r = run(
      'openssl',
      [
        'x509',
        '-req',
        '-in',
        `${file}.csr`,
        '-CA',
        'inter.pem',
        '-CAkey',
        'pki/inter/ca.key',
        '-CAcreateserial',
        '-days',
        '30',
        '-sha256',
        '-extfile',
        `${file}.ext`,
        '-out',
        `${file}.pem`,
      ],
      { cwd: dir },
    );
    if (r.status !== 0) throw new Error(`openssl x509 -req failed: ${r.stderr}`);
  }

  it("init --parent with the issue's flags writes a critical NameConstraints, the leading dot in RFC 5280 form", () => {
    const r = ok(dir, [
      '--ca',
      'inter',
      'init',
      '--cn',
      'certctl e2e NC intermediate',
      '--parent',
      'default',
      '--permit-dns',
      '.internal.example',
      '--permit-ip',
      '10.0.0.0/8',
      '--exclude-dns',
      'bad.internal.example',
      '--exclude-ip',
      '10.9.0.0/16',
    ]);
    expect(r.stderr).toContain('--permit-dns .internal.example is written as internal.example');
    writeFileSync(join(dir, 'inter.pem'), r.stdout);
    const text = run('openssl', ['x509', '-in', 'inter.pem', '-noout', '-ext', 'nameConstraints'], { cwd: dir }).stdout;
    expect(text.replace(/\s+/g, ' ').trim()).toBe(
      'X509v3 Name Constraints: critical Permitted: DNS:internal.example IP:10.0.0.0/255.0.0.0 Excluded: DNS:bad.internal.example IP:10.9.0.0/255.255.0.0',
    );
  });

  it('issues inside the constraints; all three verifiers accept the leaf', () => {
    ok(dir, ['--ca', 'inter', 'issue', 'server', '--cn', 'api.internal.example', '--dns', 'api.internal.example', '--ip', '10.1.2.3', '--out', 'inside']);
    expect(verdicts('inside/cert.pem', 'api.internal.example')).toEqual({
      openssl: true,
      go: '{"chain_length":3,"ok":true}',
      python: '{"ok": true, "chain_length": 3}',
    });
    expect(verdicts('inside/cert.pem', '10.1.2.3').openssl).toBe(true);
  });

  it.each([
    [
      ['issue', 'server', '--cn', 'api.other.example', '--dns', 'api.other.example'],
      'DNS name "api.other.example"',
      'not under its permitted DNS subtrees (internal.example)',
    ],
    [
      ['issue', 'server', '--cn', 'x.bad.internal.example', '--dns', 'x.bad.internal.example'],
      'DNS name "x.bad.internal.example"',
      'within its excluded DNS subtree bad.internal.example',
    ],
    [['issue', 'server', '--cn', 'api.internal.example', '--ip', '192.168.1.1'], 'IP address "192.168.1.1"', 'not in its permitted IP ranges (10.0.0.0/8)'],
    [['issue', 'server', '--cn', 'api.internal.example', '--ip', '10.9.0.1'], 'IP address "10.9.0.1"', 'within its excluded IP range 10.9.0.0/16'],
    [['issue', 'client', '--cn', 'alice.other.example'], 'DNS name "alice.other.example"', 'not under its permitted DNS subtrees'],
    [['init', '--cn', 'sub.other.example', '--parent', 'inter'], 'DNS name "sub.other.example"', 'not under its permitted DNS subtrees'],
  ])('refuses %j with exit 5 naming the name and the constraint', (args, name, why) => {
    const caArgs = args[0] === 'init' ? ['--ca', 'sub'] : ['--ca', 'inter'];
    const r = certctl(dir, [...caArgs, ...args]);
    expect(r.status).toBe(5);
    expect(r.stderr).toContain(`${name} is outside the name constraints of CA "inter": ${why}`);
  });

  it('sign --csr is held to the constraints too', () => {
    opensslEcReq(dir, 'csr.key', ['-new', '-subj', '/CN=db.other.example', '-addext', 'subjectAltName=DNS:db.other.example', '-out', 'out.csr']);
    const r = certctl(dir, ['--ca', 'inter', 'sign', '--csr', 'out.csr']);
    expect(r.status).toBe(5);
    expect(r.stderr).toContain('DNS name "db.other.example" is outside the name constraints of CA "inter"');
  });

  it('a leaf forced inside (openssl with the CA key) is accepted by all three: the forcing itself is sound', () => {
    forcedLeaf('forced-in', 'web.internal.example', 'DNS:web.internal.example');
    expect(verdicts('forced-in.pem', 'web.internal.example')).toEqual({
      openssl: true,
      go: '{"chain_length":3,"ok":true}',
      python: '{"ok": true, "chain_length": 3}',
    });
  });

  it.each([
    ['forced-out', 'api.other.example', 'DNS:api.other.example', 'api.other.example'],
    ['forced-excluded', 'x.bad.internal.example', 'DNS:x.bad.internal.example', 'x.bad.internal.example'],
    ['forced-ip', 'web.internal.example', 'DNS:web.internal.example,IP:192.168.1.1', '192.168.1.1'],
  ])('a leaf forced outside (%s) is rejected by OpenSSL, Go and pyca/cryptography', (file, cn, san, name) => {
    forcedLeaf(file, cn, san);
    const v = verdicts(`${file}.pem`, name);
    expect(v.openssl).toBe(false);
    expect(v.go).toMatch(/"ok":false/);
    expect(v.go).toMatch(/not permitted by any constraint|excluded by constraint|not authorized to sign/);
    expect(v.python).toMatch(/"ok": false/);
    expect(v.python).toMatch(/name constraint/);
  });

  it('zlint is clean on the constrained intermediate and its leaf', () => {
    const r = run(join(REPO, 'tools', 'zlint-check.sh'), ['inter.pem', 'inside/cert.pem'], { cwd: dir, timeout: 600000 });
    expect(r.stdout.split('\n').filter((l) => /: (warn|error|fatal) /.test(l))).toEqual([]);
    expect(r.status).toBe(0);
  });

  it.each([
    [['--ca', 'b1', 'init', '--cn', 'B', '--parent', 'default', '--permit-ip', '10.0.0/8'], 2, '--permit-ip "10.0.0/8" is not ADDRESS/PREFIX'],
    [['--ca', 'b2', 'init', '--cn', 'B', '--parent', 'default', '--permit-dns', ''], 2, '--permit-dns "": an empty DNS subtree'],
    [['--ca', 'b3', 'init', '--cn', 'B', '--parent', 'default', '--exclude-ip', '10.0.0.1/8'], 2, '--exclude-ip "10.0.0.1/8" has bits set past its prefix'],
    [['--ca', 'b4', 'init', '--cn', 'B', '--permit-dns', 'internal.example'], 2, '--permit-dns/--exclude-dns/--permit-ip/--exclude-ip need --parent'],
  ])('refuses bad values: %j → exit %i naming the flag, and creates nothing', (args, status, message) => {
    const r = certctl(dir, args);
    expect(r.status).toBe(status);
    expect(r.stderr).toContain(message);
    expect(certctl(dir, ['--ca', args[1], 'ca', 'show']).status).toBe(4);
  });
});
