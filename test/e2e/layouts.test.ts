/**
 * End to end: every output layout of `issue` and `export` (pem, p12, k8s, docker,
 * flocker), read back with OpenSSL / a YAML parser, file modes, and `renew`.
 */
import { spawnSync } from 'node:child_process';
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { certctl, CERTCTL_BIN, run, tempDir, type CliResult, requireTool, requireBuiltCli, ok } from '../support/cli';

jest.setTimeout(120000);

/** Runs the CLI through `sh -c 'umask U; node bin/certctl.js …'`, in the same clean env as certctl(). */
function certctlWithUmask(cwd: string, umask: string, args: string[]): CliResult {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !/^(CERTCTL_|VAULT_|OS_)/.test(k)) env[k] = v;
  }
  env.XDG_CONFIG_HOME = join(cwd, '.xdg');
  const r = spawnSync('sh', ['-c', `umask ${umask}; exec "$0" "$@"`, process.execPath, CERTCTL_BIN, ...args], {
    cwd,
    env,
    encoding: 'utf8',
    timeout: 120000,
  });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const mode = (p: string) => statSync(p).mode & 0o777;
const octal = (m: number) => m.toString(8).padStart(4, '0');

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const EKU_SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const EKU_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

function spki(pem: string | Buffer, isPrivate: boolean): Buffer {
  const pub = isPrivate ? createPublicKey(createPrivateKey(pem)) : createPublicKey(pem);
  return pub.export({ format: 'der', type: 'spki' });
}

/** The certificate's public key is the key file's. */
function expectKeyMatchesCert(certPem: string | Buffer, keyPem: string | Buffer): void {
  expect(new X509Certificate(certPem).publicKey.export({ format: 'der', type: 'spki' })).toEqual(spki(keyPem, true));
}

function pemBlocks(text: string, label: string): string[] {
  const re = new RegExp(`-----BEGIN ${label}-----[\\s\\S]+?-----END ${label}-----`, 'g');
  return text.match(re) ?? [];
}

function opensslVerify(cwd: string, ca: string, cert: string, purpose?: string): CliResult {
  return run('openssl', ['verify', '-CAfile', ca, ...(purpose ? ['-purpose', purpose] : []), cert], { cwd });
}

describe('output layouts', () => {
  let dir: string;
  let cleanup: () => void;
  let caPem: string;

  beforeAll(() => {
    requireBuiltCli();
    requireTool('openssl', ['version']);
    ({ dir, cleanup } = tempDir('certctl-e2e-layouts-'));
    ok(dir, ['init', '--cn', 'certctl e2e layouts root']);
    caPem = ok(dir, ['ca', 'show']).stdout;
    // With a trailing newline, as `echo secret > pw` writes it.
    writeFileSync(join(dir, 'pw'), 'correct horse battery\n', { mode: 0o600 });
    writeFileSync(join(dir, 'wrong-pw'), 'incorrect horse\n', { mode: 0o600 });
  });

  afterAll(() => cleanup?.());

  describe('p12', () => {
    let issued: CliResult;
    beforeAll(() => {
      issued = ok(dir, ['--json', 'issue', 'client', '--cn', 'bob', '--format', 'p12', '--password-file', 'pw', '--out', 'p12']);
    });

    test('writes <cn>.p12 and ca.pem; the .p12 is 0600', () => {
      expect(readdirSync(join(dir, 'p12')).sort()).toEqual(['bob.p12', 'ca.pem']);
      expect(octal(mode(join(dir, 'p12', 'bob.p12')))).toBe('0600');
      expect(readFileSync(join(dir, 'p12', 'ca.pem'), 'utf8')).toBe(caPem);
    });

    test('openssl pkcs12 -nodes -passin file:pw reads it (no -legacy): matching cert + key, and the CA', () => {
      const r = run('openssl', ['pkcs12', '-in', 'p12/bob.p12', '-nodes', '-passin', 'file:pw'], { cwd: dir });
      expect(r.stderr).not.toMatch(/error|unsupported/i);
      expect(r.status).toBe(0);
      const certs = pemBlocks(r.stdout, 'CERTIFICATE');
      const keys = pemBlocks(r.stdout, 'PRIVATE KEY');
      expect(keys).toHaveLength(1);
      const leaf = certs.map((c) => new X509Certificate(c)).find((c) => c.subject === 'CN=bob');
      expect(leaf).toBeDefined();
      expect(leaf!.serialNumber).toBe(issued.json!.result.certificates[0].serial);
      expectKeyMatchesCert(leaf!.toString(), keys[0]);
      expect(certs.map((c) => new X509Certificate(c).subject)).toContain('CN=certctl e2e layouts root');
    });

    test('the wrong password is rejected', () => {
      const r = run('openssl', ['pkcs12', '-in', 'p12/bob.p12', '-nodes', '-passin', 'file:wrong-pw'], { cwd: dir });
      expect(r.status).not.toBe(0);
      expect(r.stdout).not.toMatch(/PRIVATE KEY/);
    });

    test('an RSA key in a p12 reads back too', () => {
      ok(dir, [
        'issue',
        'server',
        '--cn',
        'rsa.example.com',
        '--dns',
        'rsa.example.com',
        '--key-type',
        'rsa-2048',
        '--format',
        'p12',
        '--password-file',
        'pw',
        '--out',
        'p12-rsa',
      ]);
      const r = run('openssl', ['pkcs12', '-in', 'p12-rsa/rsa.example.com.p12', '-nodes', '-passin', 'file:pw'], { cwd: dir });
      expect(r.status).toBe(0);
      const leaf = pemBlocks(r.stdout, 'CERTIFICATE').find((c) => new X509Certificate(c).subject === 'CN=rsa.example.com')!;
      expectKeyMatchesCert(leaf, pemBlocks(r.stdout, 'PRIVATE KEY')[0]);
      expect(createPrivateKey(pemBlocks(r.stdout, 'PRIVATE KEY')[0]).asymmetricKeyType).toBe('rsa');
    });
  });

  describe('k8s', () => {
    let secret: any;
    let file: string;
    beforeAll(() => {
      ok(dir, ['issue', 'server', '--cn', 'web.example.com', '--dns', 'web.example.com', '--format', 'k8s', '--out', 'k8s']);
      file = join(dir, 'k8s', 'web.example.com-tls.yaml');
      secret = parseYaml(readFileSync(file, 'utf8'));
    });

    test('writes <cn>-tls.yaml only, 0600 (it holds a private key)', () => {
      expect(readdirSync(join(dir, 'k8s'))).toEqual(['web.example.com-tls.yaml']);
      expect(octal(mode(file))).toBe('0600');
    });

    test('is a kubernetes.io/tls Secret with tls.crt, tls.key and ca.crt', () => {
      expect(secret).toMatchObject({ apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: { name: 'web.example.com-tls' } });
      expect(Object.keys(secret.data).sort()).toEqual(['ca.crt', 'tls.crt', 'tls.key']);
      for (const v of Object.values(secret.data)) expect(v).toMatch(/^[A-Za-z0-9+/]+=*$/);
    });

    test('the base64 data decodes to PEMs: matching cert and key, the CA, and openssl verify passes', () => {
      const dec = (k: string) => Buffer.from(secret.data[k], 'base64').toString('utf8');
      const crt = dec('tls.crt');
      const key = dec('tls.key');
      const ca = dec('ca.crt');
      expect(crt).toMatch(/^-----BEGIN CERTIFICATE-----/);
      expect(key).toMatch(/^-----BEGIN (EC |RSA )?PRIVATE KEY-----/);
      expect(ca).toBe(caPem);
      expectKeyMatchesCert(crt, key);
      expect(new X509Certificate(crt).subjectAltName).toBe('DNS:web.example.com');
      writeFileSync(join(dir, 'k8s-tls.crt'), crt);
      writeFileSync(join(dir, 'k8s-ca.crt'), ca);
      const v = opensslVerify(dir, 'k8s-ca.crt', 'k8s-tls.crt', 'sslserver');
      expect(v.stdout.trim()).toBe('k8s-tls.crt: OK');
    });
  });

  describe('docker', () => {
    test('server layout: server-cert.pem, server-key.pem, ca.pem, valid for TLS server', () => {
      ok(dir, ['issue', 'server', '--cn', 'dockerd', '--dns', 'dockerd.example.com', '--ip', '10.0.0.5', '--format', 'docker', '--out', 'docker-server']);
      const d = join(dir, 'docker-server');
      expect(readdirSync(d).sort()).toEqual(['ca.pem', 'server-cert.pem', 'server-key.pem']);
      expect(octal(mode(join(d, 'server-key.pem')))).toBe('0600');
      expectKeyMatchesCert(readFileSync(join(d, 'server-cert.pem')), readFileSync(join(d, 'server-key.pem')));
      expect(opensslVerify(d, 'ca.pem', 'server-cert.pem', 'sslserver').status).toBe(0);
    });

    test('client layout: cert.pem, key.pem, ca.pem, valid for TLS client', () => {
      ok(dir, ['issue', 'client', '--cn', 'docker-user', '--format', 'docker', '--out', 'docker-client']);
      const d = join(dir, 'docker-client');
      expect(readdirSync(d).sort()).toEqual(['ca.pem', 'cert.pem', 'key.pem']);
      expect(octal(mode(join(d, 'key.pem')))).toBe('0600');
      expectKeyMatchesCert(readFileSync(join(d, 'cert.pem')), readFileSync(join(d, 'key.pem')));
      expect(opensslVerify(d, 'ca.pem', 'cert.pem', 'sslclient').status).toBe(0);
    });

    test.each(['000', '077'])('with umask %s: the created out dir is 0700, keys 0600, certs not group/world writable', (umask) => {
      const server = certctlWithUmask(dir, umask, [
        'issue',
        'server',
        '--cn',
        'dockerd',
        '--dns',
        'dockerd.example.com',
        '--format',
        'docker',
        '--out',
        `umask-${umask}/server`,
      ]);
      expect(server.stderr).not.toMatch(/^certctl: /m);
      expect(server.status).toBe(0);
      const client = certctlWithUmask(dir, umask, ['issue', 'client', '--cn', 'docker-user', '--format', 'docker', '--out', `umask-${umask}/client`]);
      expect(client.status).toBe(0);
      const modes: Record<string, string> = {};
      for (const rel of [`umask-${umask}`, `umask-${umask}/server`, `umask-${umask}/client`]) modes[rel] = octal(mode(join(dir, rel)));
      for (const rel of ['server/server-key.pem', 'client/key.pem']) modes[rel] = octal(mode(join(dir, `umask-${umask}`, rel)));
      expect(modes).toEqual({
        [`umask-${umask}`]: '0700',
        [`umask-${umask}/server`]: '0700',
        [`umask-${umask}/client`]: '0700',
        'server/server-key.pem': '0600',
        'client/key.pem': '0600',
      });
      for (const rel of ['server/server-cert.pem', 'server/ca.pem', 'client/cert.pem', 'client/ca.pem']) {
        const m = mode(join(dir, `umask-${umask}`, rel));
        expect({ rel, writableByOthers: (m & 0o022) !== 0, readableByOwner: (m & 0o400) !== 0 }).toEqual({
          rel,
          writableByOthers: false,
          readableByOwner: true,
        });
      }
    });

    test('an existing out dir keeps its mode', () => {
      mkdirSync(join(dir, 'existing'), { mode: 0o755 });
      const r = certctlWithUmask(dir, '022', ['issue', 'client', '--cn', 'x', '--format', 'docker', '--out', 'existing']);
      expect(r.status).toBe(0);
      expect(octal(mode(join(dir, 'existing')))).toBe('0755');
      expect(octal(mode(join(dir, 'existing', 'key.pem')))).toBe('0600');
    });
  });

  test('with umask 000 the file backend store (./pki) is still private: dirs 0700, files 0600', () => {
    const t = tempDir('certctl-e2e-layouts-store-');
    try {
      expect(certctlWithUmask(t.dir, '000', ['init', '--cn', 'umask root']).status).toBe(0);
      expect(certctlWithUmask(t.dir, '000', ['issue', 'client', '--cn', 'a', '--out', 'a']).status).toBe(0);
      expect(certctlWithUmask(t.dir, '000', ['crl']).status).toBe(0);
      const loose: string[] = [];
      const walk = (p: string) => {
        const st = statSync(p);
        const want = st.isDirectory() ? 0o700 : 0o600;
        if ((st.mode & 0o777) !== want) loose.push(`${octal(st.mode & 0o777)} ${p.slice(t.dir.length + 1)}`);
        if (st.isDirectory()) for (const f of readdirSync(p)) walk(join(p, f));
      };
      walk(join(t.dir, 'pki'));
      expect(existsSync(join(t.dir, 'pki', 'default', 'ca.key'))).toBe(true);
      expect(loose).toEqual([]);
    } finally {
      t.cleanup();
    }
  });

  describe('flocker', () => {
    let files: string[];
    beforeAll(() => {
      ok(dir, ['issue', 'node', '--count', '3', '--format', 'flocker', '--out', 'flocker']);
      files = readdirSync(join(dir, 'flocker')).sort();
    });

    test('issue node --count 3: three <uuid>.crt/.key pairs and cluster.crt, nothing else', () => {
      expect(files).toHaveLength(7);
      expect(files).toContain('cluster.crt');
      const crts = files.filter((f) => f.endsWith('.crt') && f !== 'cluster.crt');
      const keys = files.filter((f) => f.endsWith('.key'));
      expect(crts).toHaveLength(3);
      expect(keys.map((k) => k.replace(/\.key$/, ''))).toEqual(crts.map((c) => c.replace(/\.crt$/, '')));
      for (const c of crts) expect(c.replace(/\.crt$/, '')).toMatch(UUID);
      expect(new Set(crts).size).toBe(3);
    });

    test('cluster.crt is the CA certificate', () => {
      expect(readFileSync(join(dir, 'flocker', 'cluster.crt'), 'utf8')).toBe(caPem);
    });

    test('each node certificate: CN is the UUID of its file name, key matches, serverAuth+clientAuth, verifies', () => {
      const uuids = files.filter((f) => f.endsWith('.key')).map((f) => f.replace(/\.key$/, ''));
      for (const uuid of uuids) {
        const crt = readFileSync(join(dir, 'flocker', `${uuid}.crt`));
        const cert = new X509Certificate(crt);
        expect(cert.subject).toBe(`CN=${uuid}`);
        expect([...(cert.keyUsage ?? [])].sort()).toEqual([EKU_SERVER_AUTH, EKU_CLIENT_AUTH]);
        expectKeyMatchesCert(crt, readFileSync(join(dir, 'flocker', `${uuid}.key`)));
        expect(octal(mode(join(dir, 'flocker', `${uuid}.key`)))).toBe('0600');
        for (const purpose of ['sslclient', 'sslserver']) {
          expect(opensslVerify(join(dir, 'flocker'), 'cluster.crt', `${uuid}.crt`, purpose).status).toBe(0);
        }
      }
      // each is in the inventory under its own serial
      const listed = (ok(dir, ['list', '--json']).json!.result as Array<{ commonName: string; profile: string }>).filter((c) => c.profile === 'node');
      expect(listed.map((c) => c.commonName)).toEqual(expect.arrayContaining(uuids));
    });

    test('the server profile in flocker layout writes control-<cn>.crt/.key', () => {
      ok(dir, ['issue', 'server', '--cn', 'control.example.com', '--dns', 'control.example.com', '--format', 'flocker', '--out', 'flocker-control']);
      const d = join(dir, 'flocker-control');
      expect(readdirSync(d).sort()).toEqual(['cluster.crt', 'control-control.example.com.crt', 'control-control.example.com.key']);
      expectKeyMatchesCert(readFileSync(join(d, 'control-control.example.com.crt')), readFileSync(join(d, 'control-control.example.com.key')));
      expect(opensslVerify(d, 'cluster.crt', 'control-control.example.com.crt', 'sslserver').status).toBe(0);
    });
  });

  test('--count N with the pem layout puts each certificate in <out>/<cn>/', () => {
    ok(dir, ['issue', 'node', '--count', '2', '--out', 'nodes-pem']);
    const subdirs = readdirSync(join(dir, 'nodes-pem')).sort();
    expect(subdirs).toHaveLength(2);
    for (const uuid of subdirs) {
      expect(uuid).toMatch(UUID);
      const d = join(dir, 'nodes-pem', uuid);
      expect(readdirSync(d).sort()).toEqual(['ca.pem', 'cert.pem', 'chain.pem', 'key.pem']);
      expect(new X509Certificate(readFileSync(join(d, 'cert.pem'))).subject).toBe(`CN=${uuid}`);
      expectKeyMatchesCert(readFileSync(join(d, 'cert.pem')), readFileSync(join(d, 'key.pem')));
    }
  });

  describe('under an intermediate CA every layout carries the intermediate next to the leaf', () => {
    let interPem: string;
    beforeAll(() => {
      ok(dir, ['--ca', 'inter', 'init', '--cn', 'certctl e2e layouts intermediate', '--parent', 'default']);
      interPem = ok(dir, ['--ca', 'inter', 'ca', 'show']).stdout.trim();
    });

    /** The leaf verifies from the root through the certificates that come with it. */
    function expectChainVerifies(leafAndChain: string, root: string, cn: string): void {
      const certs = pemBlocks(leafAndChain, 'CERTIFICATE');
      expect(new X509Certificate(certs[0]).subject).toBe(`CN=${cn}`);
      expect(certs).toContain(interPem);
      writeFileSync(join(dir, 'inter-check-chain.pem'), certs.join('\n') + '\n');
      writeFileSync(join(dir, 'inter-check-leaf.pem'), certs[0] + '\n');
      writeFileSync(join(dir, 'inter-check-root.pem'), root);
      const r = run('openssl', ['verify', '-CAfile', 'inter-check-root.pem', '-untrusted', 'inter-check-chain.pem', 'inter-check-leaf.pem'], { cwd: dir });
      expect(r.stdout.trim()).toBe('inter-check-leaf.pem: OK');
    }

    test('pem: ca.pem is the root, chain.pem is leaf + intermediate', () => {
      ok(dir, ['--ca', 'inter', 'issue', 'client', '--cn', 'ic-pem', '--out', 'inter-pem']);
      expect(readFileSync(join(dir, 'inter-pem', 'ca.pem'), 'utf8')).toBe(caPem);
      expectChainVerifies(readFileSync(join(dir, 'inter-pem', 'chain.pem'), 'utf8'), caPem, 'ic-pem');
    });

    test('docker: server-cert.pem holds leaf + intermediate, ca.pem the root', () => {
      ok(dir, ['--ca', 'inter', 'issue', 'server', '--cn', 'ic-docker', '--dns', 'ic-docker.example.com', '--format', 'docker', '--out', 'inter-docker']);
      const d = join(dir, 'inter-docker');
      expect(readFileSync(join(d, 'ca.pem'), 'utf8')).toBe(caPem);
      expectChainVerifies(readFileSync(join(d, 'server-cert.pem'), 'utf8'), caPem, 'ic-docker');
    });

    test('k8s: tls.crt holds leaf + intermediate, ca.crt the root', () => {
      ok(dir, ['--ca', 'inter', 'issue', 'server', '--cn', 'ic-k8s', '--dns', 'ic-k8s.example.com', '--format', 'k8s', '--out', 'inter-k8s']);
      const s = parseYaml(readFileSync(join(dir, 'inter-k8s', 'ic-k8s-tls.yaml'), 'utf8'));
      const dec = (k: string) => Buffer.from(s.data[k], 'base64').toString('utf8');
      expect(dec('ca.crt')).toBe(caPem);
      expectChainVerifies(dec('tls.crt'), caPem, 'ic-k8s');
    });

    test('p12: the bundle holds leaf, key, intermediate (and root)', () => {
      ok(dir, ['--ca', 'inter', 'issue', 'client', '--cn', 'ic-p12', '--format', 'p12', '--password-file', 'pw', '--out', 'inter-p12']);
      const r = run('openssl', ['pkcs12', '-in', 'inter-p12/ic-p12.p12', '-nodes', '-passin', 'file:pw'], { cwd: dir });
      expect(r.status).toBe(0);
      const certs = pemBlocks(r.stdout, 'CERTIFICATE');
      const leaf = certs.find((c) => new X509Certificate(c).subject === 'CN=ic-p12')!;
      expect(leaf).toBeDefined();
      expectKeyMatchesCert(leaf, pemBlocks(r.stdout, 'PRIVATE KEY')[0]);
      expectChainVerifies([leaf, ...certs.filter((c) => c !== leaf)].join('\n'), caPem, 'ic-p12');
    });

    test('flocker: each node .crt holds leaf + intermediate, cluster.crt the root', () => {
      ok(dir, ['--ca', 'inter', 'issue', 'node', '--count', '2', '--format', 'flocker', '--out', 'inter-flocker']);
      const d = join(dir, 'inter-flocker');
      expect(readFileSync(join(d, 'cluster.crt'), 'utf8')).toBe(caPem);
      const crts = readdirSync(d).filter((f) => f.endsWith('.crt') && f !== 'cluster.crt');
      expect(crts).toHaveLength(2);
      for (const f of crts) expectChainVerifies(readFileSync(join(d, f), 'utf8'), caPem, f.replace(/\.crt$/, ''));
    });
  });

  describe('export', () => {
    let serial: string;
    let origCert: string;
    let origKey: string;
    beforeAll(() => {
      const r = ok(dir, ['--json', 'issue', 'server', '--cn', 'export.example.com', '--dns', 'export.example.com', '--ip', '10.9.8.7', '--out', 'export-orig']);
      serial = r.json!.result.certificates[0].serial;
      origCert = readFileSync(join(dir, 'export-orig', 'cert.pem'), 'utf8');
      origKey = readFileSync(join(dir, 'export-orig', 'key.pem'), 'utf8');
    });

    test('--format pem: cert.pem, key.pem, ca.pem, chain.pem equal to what issue wrote', () => {
      ok(dir, ['export', serial, '--format', 'pem', '--out', 'export-pem']);
      const d = join(dir, 'export-pem');
      expect(readdirSync(d).sort()).toEqual(['ca.pem', 'cert.pem', 'chain.pem', 'key.pem']);
      expect(readFileSync(join(d, 'cert.pem'), 'utf8')).toBe(origCert);
      expect(spki(readFileSync(join(d, 'key.pem')), true)).toEqual(spki(origKey, true));
      expect(readFileSync(join(d, 'ca.pem'), 'utf8')).toBe(caPem);
      expect(octal(mode(join(d, 'key.pem')))).toBe('0600');
      expect(opensslVerify(d, 'ca.pem', 'cert.pem', 'sslserver').status).toBe(0);
    });

    test('--format p12: a 0600 PKCS#12 file at PATH that openssl reads with the password', () => {
      ok(dir, ['export', serial, '--format', 'p12', '--out', 'exported.p12', '--password-file', 'pw']);
      expect(octal(mode(join(dir, 'exported.p12')))).toBe('0600');
      const r = run('openssl', ['pkcs12', '-in', 'exported.p12', '-nodes', '-passin', 'file:pw'], { cwd: dir });
      expect(r.status).toBe(0);
      const leaf = pemBlocks(r.stdout, 'CERTIFICATE').find((c) => new X509Certificate(c).serialNumber === serial);
      expect(leaf).toBeDefined();
      expect(spki(pemBlocks(r.stdout, 'PRIVATE KEY')[0], true)).toEqual(spki(origKey, true));
    });

    test('--format k8s: a Secret YAML at PATH with the same certificate and key', () => {
      ok(dir, ['export', serial, '--format', 'k8s', '--out', 'exported.yaml']);
      expect(octal(mode(join(dir, 'exported.yaml')))).toBe('0600');
      const s = parseYaml(readFileSync(join(dir, 'exported.yaml'), 'utf8'));
      expect(s).toMatchObject({ kind: 'Secret', type: 'kubernetes.io/tls' });
      const dec = (k: string) => Buffer.from(s.data[k], 'base64').toString('utf8');
      expect(dec('tls.crt').trim()).toBe(origCert.trim());
      expect(spki(dec('tls.key'), true)).toEqual(spki(origKey, true));
      expect(dec('ca.crt')).toBe(caPem);
    });

    test('exporting to a file leaves the mode of the existing directory it goes to alone', () => {
      // e.g. `certctl export … --format p12 --out ./alice.p12` must not chmod the cwd to 0700
      mkdirSync(join(dir, 'shared'), { mode: 0o755 });
      ok(dir, ['export', serial, '--format', 'p12', '--out', 'shared/exported.p12', '--password-file', 'pw']);
      ok(dir, ['export', serial, '--format', 'k8s', '--out', 'shared/exported.yaml']);
      expect(octal(mode(join(dir, 'shared')))).toBe('0755');
      expect(octal(mode(join(dir, 'shared', 'exported.p12')))).toBe('0600');
    });

    test('an unknown serial: exit 4', () => {
      expect(certctl(dir, ['export', '00112233445566778899AABBCCDDEEFF', '--format', 'pem', '--out', 'nope']).status).toBe(4);
    });
  });

  describe('renew', () => {
    const kinds = [
      {
        profile: 'server',
        args: ['--cn', 'renew.example.com', '--dns', 'renew.example.com', '--dns', 'www.renew.example.com', '--ip', '10.1.1.1'],
        eku: [EKU_SERVER_AUTH],
      },
      { profile: 'client', args: ['--cn', 'renew-client', '--ttl', '30d'], eku: [EKU_CLIENT_AUTH] },
      { profile: 'peer', args: ['--cn', 'etcd-0', '--dns', 'etcd-0.example.com', '--ip', '10.1.1.2'], eku: [EKU_SERVER_AUTH, EKU_CLIENT_AUTH] },
    ];

    test.each(kinds)('$profile: a new serial and a new key, same subject, SANs and profile', ({ profile, args, eku }) => {
      const issued = ok(dir, ['--json', 'issue', profile, ...args, '--out', `renew-${profile}-old`]).json!.result.certificates[0];
      const renewed = certctl(dir, ['--json', 'renew', issued.serial, '--out', `renew-${profile}-new`]);
      expect(renewed.stderr).not.toMatch(/^certctl: /m);
      expect(renewed.status).toBe(0);
      const rec = renewed.json!.result.certificate;
      expect(rec.serial).not.toBe(issued.serial);
      expect({ profile: rec.profile, cn: rec.commonName, dns: rec.dnsNames, ip: rec.ipAddresses, keyType: rec.keyType }).toEqual({
        profile: issued.profile,
        cn: issued.commonName,
        dns: issued.dnsNames,
        ip: issued.ipAddresses,
        keyType: issued.keyType,
      });

      const oldDir = join(dir, `renew-${profile}-old`);
      const newDir = join(dir, `renew-${profile}-new`);
      const oldCert = new X509Certificate(readFileSync(join(oldDir, 'cert.pem')));
      const newCert = new X509Certificate(readFileSync(join(newDir, 'cert.pem')));
      expect(newCert.serialNumber).toBe(rec.serial);
      expect(newCert.serialNumber).not.toBe(oldCert.serialNumber);
      expect(newCert.subject).toBe(oldCert.subject);
      expect(newCert.subjectAltName).toBe(oldCert.subjectAltName);
      expect([...(newCert.keyUsage ?? [])].sort()).toEqual([...eku].sort());
      // a new key pair, and the written key is the new certificate's
      expect(spki(readFileSync(join(newDir, 'key.pem')), true)).not.toEqual(spki(readFileSync(join(oldDir, 'key.pem')), true));
      expectKeyMatchesCert(readFileSync(join(newDir, 'cert.pem')), readFileSync(join(newDir, 'key.pem')));
      expect(opensslVerify(newDir, 'ca.pem', 'cert.pem').status).toBe(0);
      // the same lifetime as the old certificate (a 30d client stays 30d, not the profile default)
      const lifetime = (c: X509Certificate) => Date.parse(c.validTo) - Date.parse(c.validFrom);
      expect(Math.abs(lifetime(newCert) - lifetime(oldCert))).toBeLessThanOrEqual(5000);
    });
  });
});
