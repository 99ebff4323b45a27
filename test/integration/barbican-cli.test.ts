/**
 * certctl --backend barbican as an operator runs it, against a real Keystone + Barbican:
 * every command, openssl verifying what comes out, a real mTLS handshake, then Barbican's REST
 * API read with curl (not with certctl's client) to see what was stored and what was not.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { certctl, ok, run, tempDir, opensslEcCsr } from '../support/cli';
import { describeWithOpenStack, freshPrefix, inspector, keystoneConfig, keystoneEnv, type OpenStackServers } from '../support/servers';
import { mtlsHandshake, privateKeyFilesUnder } from '../support/tls-check';

jest.setTimeout(180000);

/** Barbican's REST API through curl with a Keystone token curl fetched itself. */
function rest(s: OpenStackServers) {
  const body = JSON.stringify({
    auth: {
      identity: { methods: ['password'], password: { user: { name: s.username, domain: { name: 'Default' }, password: s.password } } },
      scope: { project: { name: s.projectName, domain: { name: 'Default' } } },
    },
  });
  const login = run('curl', ['-sS', '-D', '-', '-o', '/dev/null', '-H', 'Content-Type: application/json', '--data-binary', '@-', `${s.authUrl}/auth/tokens`], {
    input: body,
  });
  const token = /^x-subject-token:\s*(\S+)/im.exec(login.stdout)?.[1];
  if (!token) throw new Error(`curl could not get a Keystone token: ${login.stdout}${login.stderr}`);
  const get = (path: string, accept = 'application/json') => {
    const r = run('curl', ['-sS', '--fail', '-H', `X-Auth-Token: ${token}`, '-H', `Accept: ${accept}`, `${s.endpoint}${path}`]);
    if (r.status !== 0) throw new Error(`curl GET ${path}: ${r.stderr}`);
    return r.stdout;
  };
  return {
    json: (path: string) => JSON.parse(get(path)),
    text: (path: string) => get(path, 'text/plain'),
    /** Every secret (or container) of the project, all pages. */
    all(kind: 'secrets' | 'containers'): any[] {
      const out: any[] = [];
      for (let offset = 0; ; offset += 100) {
        const page = JSON.parse(get(`/v1/${kind}?limit=100&offset=${offset}`));
        out.push(...page[kind]);
        if (!page.next) return out;
      }
    },
  };
}

describeWithOpenStack('certctl --backend barbican (real Keystone + Barbican)', (servers) => {
  const prefix = freshPrefix();
  const t = tempDir('certctl-barbican-e2e-');
  const env = keystoneEnv(servers, prefix);
  const dir = t.dir;

  afterAll(async () => {
    await inspector(keystoneConfig(servers, prefix, dir)).purge(prefix);
    t.cleanup();
  });

  const serials: Record<string, string> = {};

  it('init, issue server and client, sign a CSR: openssl verifies all against `ca show`', () => {
    ok(dir, ['init', '--cn', 'Barbican E2E Root'], env);
    writeFileSync(join(dir, 'ca.pem'), ok(dir, ['ca', 'show'], env).stdout);
    serials.server = ok(
      dir,
      ['issue', 'server', '--cn', 'localhost', '--dns', 'localhost', '--ip', '127.0.0.1', '--out', 'srv', '--json'],
      env,
    ).json!.result.certificates[0].serial;
    serials.client = ok(dir, ['issue', 'client', '--cn', 'alice', '--out', 'cli', '--json'], env).json!.result.certificates[0].serial;
    opensslEcCsr(dir, '/CN=bob', join(dir, 'bob.key'), join(dir, 'bob.csr'));
    const signed = ok(dir, ['sign', '--csr', 'bob.csr'], env).stdout;
    writeFileSync(join(dir, 'bob.crt'), signed);
    for (const cert of ['srv/cert.pem', 'cli/cert.pem', 'bob.crt']) {
      const v = run('openssl', ['verify', '-CAfile', join(dir, 'ca.pem'), join(dir, cert)]);
      expect(`${cert}: ${v.stdout.trim()}`).toBe(`${cert}: ${join(dir, cert)}: OK`);
    }
    expect(run('openssl', ['verify', '-purpose', 'sslserver', '-CAfile', join(dir, 'ca.pem'), join(dir, 'srv/cert.pem')]).status).toBe(0);
    expect(run('openssl', ['verify', '-purpose', 'sslclient', '-CAfile', join(dir, 'ca.pem'), join(dir, 'cli/cert.pem')]).status).toBe(0);
  });

  it('the certificates work in a real mutual-TLS handshake (openssl s_server + curl)', async () => {
    const r = await mtlsHandshake({
      caFile: join(dir, 'ca.pem'),
      serverCert: join(dir, 'srv/cert.pem'),
      serverKey: join(dir, 'srv/key.pem'),
      clientCert: join(dir, 'cli/cert.pem'),
      clientKey: join(dir, 'cli/key.pem'),
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/CN\s*=\s*alice|alice/);
  });

  it('list, show, renew and export work from Barbican alone', () => {
    const listed = ok(dir, ['list', '--json'], env).json!.result;
    expect(listed.map((r: any) => r.serial).sort()).toEqual(expect.arrayContaining([serials.server, serials.client]));
    expect(listed).toHaveLength(3);
    const shown = ok(dir, ['show', serials.server, '--json'], env).json!.result;
    expect(shown.record?.dnsNames ?? shown.dnsNames).toEqual(['localhost']);
    expect(ok(dir, ['list', '--expiring', '400d', '--json'], env).json!.result).toHaveLength(3);
    expect(ok(dir, ['list', '--expiring', '1d', '--json'], env).json!.result).toHaveLength(0);
    const renewed = ok(dir, ['renew', serials.server, '--out', 'srv2', '--json'], env).json!.result.certificate.serial;
    expect(renewed).not.toBe(serials.server);
    serials.renewed = renewed;
    expect(run('openssl', ['verify', '-CAfile', join(dir, 'ca.pem'), join(dir, 'srv2/cert.pem')]).status).toBe(0);
    writeFileSync(join(dir, 'p12pw'), 'p12-pass\n');
    ok(dir, ['export', serials.client, '--format', 'p12', '--password-file', 'p12pw', '--out', 'alice.p12'], env);
    const p12 = run('openssl', ['pkcs12', '-in', join(dir, 'alice.p12'), '-passin', 'pass:p12-pass', '-nokeys']);
    expect(p12.stdout).toContain('subject=CN = alice');
  });

  it('revoke and crl: openssl refuses the revoked certificate with the CRL', () => {
    ok(dir, ['revoke', serials.client, '--reason', 'keyCompromise'], env);
    writeFileSync(join(dir, 'crl.pem'), ok(dir, ['crl'], env).stdout);
    const text = run('openssl', ['crl', '-in', join(dir, 'crl.pem'), '-noout', '-text']).stdout;
    expect(text).toContain(serials.client);
    expect(text).toContain('Key Compromise');
    const revoked = run('openssl', ['verify', '-crl_check', '-CAfile', join(dir, 'ca.pem'), '-CRLfile', join(dir, 'crl.pem'), join(dir, 'cli/cert.pem')]);
    expect(revoked.status).not.toBe(0);
    expect(revoked.stdout + revoked.stderr).toContain('certificate revoked');
    const good = run('openssl', ['verify', '-crl_check', '-CAfile', join(dir, 'ca.pem'), '-CRLfile', join(dir, 'crl.pem'), join(dir, 'srv2/cert.pem')]);
    expect(good.status).toBe(0);
    expect(ok(dir, ['list', '--revoked', '--json'], env).json!.result.map((r: any) => r.serial)).toEqual([serials.client]);
  });

  it("Barbican's REST API holds the keys, certificates and containers; no private key is on local disk outside --out", () => {
    const api = rest(servers);
    const secrets = api.all('secrets').filter((s) => s.name?.startsWith(`${prefix}/`));
    const byName = new Map(secrets.map((s) => [s.name, s]));
    const ca = `${prefix}/default`;
    expect(byName.get(`${ca}/ca`)?.secret_type).toBe('certificate');
    expect(byName.get(`${ca}/ca-key`)?.secret_type).toBe('private');
    expect(byName.get(`${ca}/ca-record`)?.secret_type).toBe('opaque');
    const certRef = byName.get(`${ca}/${serials.server}/cert`)?.secret_ref as string;
    const keyRef = byName.get(`${ca}/${serials.server}/key`)?.secret_ref as string;
    expect(byName.get(`${ca}/${serials.server}/key`)?.secret_type).toBe('private');
    // PEM as text/plain, readable by any Barbican client.
    expect(`${api.text(new URL(certRef).pathname + '/payload')}\n`).toBe(readFileSync(join(dir, 'srv/cert.pem'), 'utf8'));
    expect(`${api.text(new URL(keyRef).pathname + '/payload')}\n`).toBe(readFileSync(join(dir, 'srv/key.pem'), 'utf8'));
    // The CSR-signed certificate has no key in Barbican: the key stayed with bob.
    const bobSerial = ok(dir, ['list', '--json'], env).json!.result.find((r: any) => r.commonName === 'bob').serial;
    expect(byName.has(`${ca}/${bobSerial}/cert`)).toBe(true);
    expect(byName.has(`${ca}/${bobSerial}/key`)).toBe(false);
    // A certificate container per issued certificate, the shape Octavia/Magnum read.
    const containers = api.all('containers').filter((c) => c.name?.startsWith(`${prefix}/`));
    const server = containers.find((c) => c.name === `${ca}/${serials.server} localhost`);
    expect(server?.type).toBe('certificate');
    const slots = Object.fromEntries(server.secret_refs.map((r: any) => [r.name, r.secret_ref]));
    expect(slots.certificate).toBe(certRef);
    expect(slots.private_key).toBe(keyRef);
    expect(api.text(new URL(slots.intermediates).pathname + '/payload')).toContain('BEGIN CERTIFICATE');
    // The CA key in Barbican, nowhere on disk; leaf keys only where --out put them.
    expect(
      privateKeyFilesUnder(
        dir,
        ['srv', 'cli', 'srv2', 'bob.key', 'alice.p12'].map((p) => join(dir, p)),
      ),
    ).toEqual([]);
  });

  it('a wrong Keystone password is refused: exit 7, naming what to check and never the password', () => {
    const r = certctl(dir, ['list'], { ...env, OS_PASSWORD: 'not-the-password' });
    expect(r.status).toBe(7);
    expect(r.stderr).toMatch(/Keystone refused the credentials \(401\); check the Keystone user certctl/);
    expect(r.stderr).not.toContain('not-the-password');
  });
});
