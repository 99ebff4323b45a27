/**
 * End to end: the expiry workflows of issue #11 with the built CLI — `check --expiring` (exit
 * codes, JSON, human lines), `renew --expiring --out-template` across several certificates with
 * forced failures (a directory that cannot be made, a CN that cannot be a directory name), and
 * the kubeconfig layout read back by the real kubectl and checked with openssl.
 */
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { certctl, ok, opensslEcCsr, requireBuiltCli, requireTool, run, tempDir } from '../support/cli';

jest.setTimeout(180000);

const mode = (p: string) => statSync(p).mode & 0o777;

interface Listed {
  serial: string;
  commonName: string;
  profile: string;
  status: string;
  notAfter: string;
}

describe('expiry workflows', () => {
  let dir: string;
  let cleanup: () => void;
  const serial: Record<string, string> = {};
  const list = (): Listed[] => ok(dir, ['--json', 'list']).json!.result as Listed[];
  const issue = (name: string, args: string[]) => (serial[name] = ok(dir, ['--json', 'issue', ...args]).json!.result.certificates[0].serial as string);

  beforeAll(() => {
    requireBuiltCli();
    requireTool('openssl', ['version']);
    ({ dir, cleanup } = tempDir('certctl-e2e-expiry-'));
    ok(dir, ['init', '--cn', 'certctl e2e expiry root']);
    writeFileSync(join(dir, 'ca.pem'), ok(dir, ['ca', 'show']).stdout);
    issue('alice', ['client', '--cn', 'alice', '--ttl', '5d']);
    issue('a', ['server', '--cn', 'a.example', '--dns', 'a.example', '--ttl', '10d']);
    issue('b', ['server', '--cn', 'b.example', '--dns', 'b.example', '--dns', 'www.b.example', '--ttl', '20d']);
    issue('bob', ['client', '--cn', 'bob', '--ttl', '200d']);
    issue('carol', ['client', '--cn', 'carol', '--ttl', '10d']);
    ok(dir, ['revoke', serial.carol, '--reason', 'keyCompromise']);
    // A certificate with an empty subject (SAN only), signed from a CSR: {cn} has nothing to put in a path.
    opensslEcCsr(dir, '/', 'nocn.key', 'nocn.csr', ['-addext', 'subjectAltName=DNS:nocn.example']);
    serial.nocn = ok(dir, ['--json', 'sign', '--csr', 'nocn.csr', '--profile', 'server', '--ttl', '15d']).json!.result.serial as string;
  });

  afterAll(() => cleanup?.());

  describe('check --expiring', () => {
    test('exit 10 and the list, soonest first, when something expires in the window; revoked and later ones left out', () => {
      const r = certctl(dir, ['--json', 'check', '--expiring', '30d']);
      expect([r.status, r.json?.status]).toEqual([10, 10]);
      const expiring = r.json!.result.expiring as {
        serial: string;
        commonName: string;
        dnsNames: string[];
        profile: string;
        notAfter: string;
        daysLeft: number;
      }[];
      expect(expiring.map((e) => e.serial)).toEqual([serial.alice, serial.a, serial.nocn, serial.b]);
      const b = expiring[3];
      expect(b).toMatchObject({ commonName: 'b.example', dnsNames: ['b.example', 'www.b.example'], profile: 'server' });
      expect(b.daysLeft).toBe(19); // 20 days less the seconds since it was issued, rounded down
    });

    test('human output: one line per certificate on stdout, sorted by notAfter', () => {
      const r = certctl(dir, ['check', '--expiring', '30d']);
      expect(r.status).toBe(10);
      const lines = r.stdout.trim().split('\n');
      expect(lines.map((l) => l.split(/\s+/).find((w) => /^[0-9A-F]{16,}$/.test(w)))).toEqual([serial.alice, serial.a, serial.nocn, serial.b]);
      expect(lines[3]).toMatch(/b\.example/);
      expect(r.stderr).toMatch(/4 certificates expire within 30d/);
    });

    test('exit 0, empty list and nothing on stdout when nothing expires in the window', () => {
      const j = certctl(dir, ['--json', 'check', '--expiring', '1d']);
      expect([j.status, j.json?.status, j.json?.result.expiring]).toEqual([0, 0, []]);
      const h = certctl(dir, ['check', '--expiring', '1d']);
      expect([h.status, h.stdout]).toEqual([0, '']);
    });

    test('--profile narrows the check', () => {
      const r = certctl(dir, ['--json', 'check', '--expiring', '30d', '--profile', 'client']);
      expect(r.status).toBe(10);
      expect(r.json!.result.expiring.map((e: { serial: string }) => e.serial)).toEqual([serial.alice]);
    });
  });

  describe('renew --expiring', () => {
    test('--dry-run lists what would be renewed and where, and writes nothing', () => {
      const before = list().length;
      const r = certctl(dir, ['--json', 'renew', '--expiring', '30d', '--out-template', 'certs/{cn}/', '--dry-run']);
      expect(r.json!.result.wouldRenew.map((e: { serial: string; out: string }) => [e.serial, e.out])).toEqual([
        [serial.alice, 'certs/alice/'],
        [serial.a, 'certs/a.example/'],
        [serial.b, 'certs/b.example/'],
      ]);
      // The empty CN is refused for {cn} in the dry run too, so the real run's exit code is predicted.
      expect(r.json!.result.failed.map((f: { serial: string }) => f.serial)).toEqual([serial.nocn]);
      expect([r.status, r.json?.status]).toEqual([11, 11]);
      expect(existsSync(join(dir, 'certs'))).toBe(false);
      expect(list().length).toBe(before);
    });

    test('renews each matching certificate; one failure leaves the others renewed and nothing of its own', () => {
      mkdirSync(join(dir, 'certs'));
      writeFileSync(join(dir, 'certs', 'b.example'), 'in the way\n'); // its output directory cannot be made
      const before = list();
      const r = certctl(dir, ['--json', 'renew', '--expiring', '30d', '--out-template', 'certs/{cn}/', '--ttl', '90d']);
      expect([r.status, r.json?.status]).toEqual([11, 11]);
      const res = r.json!.result;
      expect(res.counts).toEqual({ renewed: 2, failed: 2, skipped: 0 });
      expect(res.renewed.map((x: { serial: string }) => x.serial)).toEqual([serial.alice, serial.a]);
      const failed = Object.fromEntries(res.failed.map((f: { serial: string; error: { message: string } }) => [f.serial, f.error.message]));
      expect(failed[serial.b]).toMatch(/certs\/b\.example/);
      expect(failed[serial.nocn]).toMatch(/\{cn\} is empty.*\{serial\}/);
      expect(r.stdout).not.toMatch(/PRIVATE KEY/);

      for (const [cn, x] of [
        ['alice', res.renewed[0]],
        ['a.example', res.renewed[1]],
      ] as const) {
        const d = join(dir, 'certs', cn);
        const cert = new X509Certificate(readFileSync(join(d, 'cert.pem')));
        expect(cert.serialNumber).toBe(x.renewedAs);
        expect(cert.subject).toBe(`CN=${cn}`);
        expect(run('openssl', ['verify', '-CAfile', 'ca.pem', join(d, 'cert.pem')], { cwd: dir }).status).toBe(0);
        expect(createPublicKey(createPrivateKey(readFileSync(join(d, 'key.pem')))).export({ format: 'der', type: 'spki' })).toEqual(
          cert.publicKey.export({ format: 'der', type: 'spki' }),
        );
        expect(mode(join(d, 'key.pem'))).toBe(0o600);
      }
      // All-or-nothing per certificate: the failed ones got no new certificate in the store and no file.
      const after = list();
      expect(after.length).toBe(before.length + 2);
      expect(after.filter((c) => c.commonName === 'b.example')).toHaveLength(1);
      expect(readdirSync(join(dir, 'certs')).sort()).toEqual(['a.example', 'alice', 'b.example']);
      expect(readFileSync(join(dir, 'certs', 'b.example'), 'utf8')).toBe('in the way\n');
    });

    test('a second run skips what was renewed and renews what failed; the summary in human text', () => {
      rmSync(join(dir, 'certs', 'b.example'));
      const r = certctl(dir, ['renew', '--expiring', '30d', '--out-template', 'certs/{cn}/', '--ttl', '90d']);
      expect(r.status).toBe(11); // the empty CN still cannot be a directory name
      expect(r.stdout).toMatch(new RegExp(`renewed ${serial.b} as [0-9A-F]+ into certs/b.example/`));
      expect(r.stdout).toMatch(new RegExp(`skipped ${serial.alice} \\(CN=alice\\): already renewed as [0-9A-F]+`));
      expect(r.stdout).toMatch(new RegExp(`failed  ${serial.nocn} .*\\{cn\\} is empty`));
      expect(r.stdout.trim().split('\n').pop()).toBe('renewed 1, failed 1, skipped 2');
      expect(new X509Certificate(readFileSync(join(dir, 'certs', 'b.example', 'cert.pem'))).subjectAltName).toBe('DNS:b.example, DNS:www.b.example');
    });

    test('{serial} gets past the path; the empty-subject certificate still fails on its own, cleanly', () => {
      const r = certctl(dir, ['--json', 'renew', '--expiring', '30d', '--out-template', 'by-serial/{serial}-{profile}', '--ttl', '90d']);
      expect([r.status, r.json?.result.counts]).toEqual([11, { renewed: 0, failed: 1, skipped: 3 }]);
      // `renew SERIAL` cannot renew an empty subject either (issue needs a CN): a known limit, reported, nothing written.
      expect(r.json!.result.failed[0]).toMatchObject({ serial: serial.nocn, error: { code: 'invalid_input' } });
      expect(r.json!.result.failed[0].error.message).not.toMatch(/\{cn\}/);
      expect(existsSync(join(dir, 'by-serial'))).toBe(false);
    });

    test('once the rest is renewed and the leftover revoked, check passes', () => {
      ok(dir, ['revoke', serial.nocn, '--reason', 'cessationOfOperation']);
      const c = certctl(dir, ['--json', 'check', '--expiring', '30d']);
      expect([c.status, c.json?.status, c.json?.result.expiring, c.json?.result.renewed.length]).toEqual([0, 0, [], 3]);
      expect(certctl(dir, ['check', '--expiring', '30d']).stdout).toBe('');
    });

    test('two certificates sent to one directory: exit 2, nothing renewed', () => {
      const before = list().length;
      const r = certctl(dir, ['--json', 'renew', '--expiring', '300d', '--out-template', 'same/']);
      expect([r.status, r.json?.error?.code]).toEqual([2, 'invalid_input']);
      expect(r.json!.error!.message).toMatch(/--out-template.*\{serial\}/);
      expect(list().length).toBe(before);
      expect(existsSync(join(dir, 'same'))).toBe(false);
    });
  });

  describe('--format kubeconfig', () => {
    interface KubeConfig {
      clusters: { name: string; cluster: { server: string; 'certificate-authority-data': string } }[];
      users: { name: string; user: { 'client-certificate-data': string; 'client-key-data': string } }[];
      contexts: { name: string; context: { cluster: string; user: string } }[];
      'current-context': string;
    }
    /** What the real kubectl reads from the file. */
    function kubectlView(file: string): KubeConfig {
      const r = run('kubectl', ['--kubeconfig', file, 'config', 'view', '--raw', '-o', 'json'], { cwd: dir });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      return JSON.parse(r.stdout) as KubeConfig;
    }
    const unb64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');

    beforeAll(() => requireTool('kubectl', ['version', '--client']));

    test('issue client: kubectl reads the CA, client certificate and key; openssl verifies them', () => {
      const r = certctl(dir, [
        '--json',
        'issue',
        'client',
        '--cn',
        'system:admin',
        '--format',
        'kubeconfig',
        '--server',
        'https://api.example:6443',
        '--out',
        'kube',
      ]);
      expect(r.status).toBe(0);
      const file = join(dir, 'kube', 'kubeconfig');
      expect(r.json!.result.files).toEqual([join('kube', 'kubeconfig')]);
      expect([mode(join(dir, 'kube')), mode(file)]).toEqual([0o700, 0o600]);
      const kc = kubectlView(file);
      expect(kc['current-context']).toBe('system:admin@default');
      expect(kc.contexts).toEqual([{ name: 'system:admin@default', context: { cluster: 'default', user: 'system:admin' } }]);
      expect(kc.clusters.map((c) => [c.name, c.cluster.server])).toEqual([['default', 'https://api.example:6443']]);
      expect(unb64(kc.clusters[0].cluster['certificate-authority-data'])).toBe(readFileSync(join(dir, 'ca.pem'), 'utf8'));
      const user = kc.users[0];
      expect(user.name).toBe('system:admin');
      writeFileSync(join(dir, 'kube-client.pem'), unb64(user.user['client-certificate-data']));
      writeFileSync(join(dir, 'kube-ca.pem'), unb64(kc.clusters[0].cluster['certificate-authority-data']));
      const verify = run('openssl', ['verify', '-CAfile', 'kube-ca.pem', '-purpose', 'sslclient', 'kube-client.pem'], { cwd: dir });
      expect([verify.status, verify.stdout.trim()]).toEqual([0, 'kube-client.pem: OK']);
      const cert = new X509Certificate(unb64(user.user['client-certificate-data']));
      expect(cert.subject).toBe('CN=system:admin');
      const key = createPrivateKey(unb64(user.user['client-key-data']));
      expect(createPublicKey(key).export({ format: 'der', type: 'spki' })).toEqual(cert.publicKey.export({ format: 'der', type: 'spki' }));
      // openssl reads the embedded key and finds it is the certificate's.
      writeFileSync(join(dir, 'kube-key.pem'), unb64(user.user['client-key-data']), { mode: 0o600 });
      const pub = run('openssl', ['pkey', '-in', 'kube-key.pem', '-pubout'], { cwd: dir });
      expect(pub.stdout).toBe(run('openssl', ['x509', '-in', 'kube-client.pem', '-noout', '-pubkey'], { cwd: dir }).stdout);
    });

    test('export: --cluster-name names the cluster and the context', () => {
      ok(dir, ['export', serial.bob, '--format', 'kubeconfig', '--server', 'https://k.example:6443', '--cluster-name', 'prod', '--out', 'kb']);
      const kc = kubectlView(join(dir, 'kb', 'kubeconfig'));
      expect([kc['current-context'], kc.clusters[0].name, kc.users[0].name]).toEqual(['bob@prod', 'prod', 'bob']);
      expect(new X509Certificate(unb64(kc.users[0].user['client-certificate-data'])).serialNumber).toBe(serial.bob);
    });

    test('a server certificate cannot make a kubeconfig: exit 2, nothing written', () => {
      const r = certctl(dir, [
        'issue',
        'server',
        '--cn',
        'k.example',
        '--dns',
        'k.example',
        '--format',
        'kubeconfig',
        '--server',
        'https://k.example:6443',
        '--out',
        'ks',
      ]);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/clientAuth/);
      expect(existsSync(join(dir, 'ks'))).toBe(false);
    });
  });

  describe('bad values: exit 2 naming the flag', () => {
    test.each([
      { args: ['check', '--expiring', 'nonsense'], flag: '--expiring' },
      { args: ['check', '--expiring', '14d', '--profile', 'nope'], flag: '--profile' },
      { args: ['renew', '--expiring', 'nonsense', '--out-template', 'c/{cn}'], flag: '--expiring' },
      { args: ['renew', '--expiring', '30d', '--out-template', 'c/{nope}/'], flag: '--out-template' },
      { args: ['renew', '--expiring', '30d'], flag: '--out-template' },
      { args: ['renew', '--expiring', '30d', '--out', 'x'], flag: '--out-template' },
      { args: ['issue', 'client', '--cn', 'k', '--format', 'kubeconfig', '--out', 'bad-k'], flag: '--server' },
      { args: ['issue', 'client', '--cn', 'k', '--format', 'kubeconfig', '--server', 'http://api.example:6443', '--out', 'bad-k'], flag: '--server' },
      { args: ['issue', 'client', '--cn', 'k', '--server', 'https://api.example:6443', '--out', 'bad-k'], flag: '--server' },
      { args: ['export', '00AA', '--format', 'kubeconfig', '--server', 'not a url', '--out', 'bad-k'], flag: '--server' },
    ])('$args', ({ args, flag }) => {
      const before = list().length;
      const r = certctl(dir, ['--json', ...args]);
      expect([r.status, r.json?.status, r.json?.error?.code]).toEqual([2, 2, 'invalid_input']);
      expect(r.json!.error!.message).toContain(flag);
      expect(r.stderr).toContain(flag);
      expect(list().length).toBe(before);
      expect(existsSync(join(dir, 'bad-k'))).toBe(false);
    });
  });
});
