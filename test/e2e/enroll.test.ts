/**
 * End to end: enrollment tokens over the file backend with the built CLI — `certctl token create`
 * where the store is, `certctl enroll` against `certctl serve` — and two server instances over one
 * store directory, so a token used on one is refused on the other. Every refusal is checked for
 * its status, code and exit code, and for leaving nothing in the inventory or on disk.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { certctl, certctlAsync, ok, opensslEcCsr, requireBuiltCli, requireTool, run, tempDir } from '../support/cli';
import { openApiValidator } from '../support/openapi';
import { httpsCall, startServe, type HttpsAnswer, type ServeProcess } from '../support/serve';

jest.setTimeout(180000);

describe('enrollment tokens: certctl token create, certctl enroll, two servers over one store directory', () => {
  const { dir, cleanup } = tempDir('certctl-enroll-');
  let a: ServeProcess;
  let b: ServeProcess;
  let fingerprint: string;
  let validate: (path: string, method: string, answer: HttpsAnswer) => void;
  const tokens: string[] = [];

  /** `certctl token create …` on the CA host: the token alone on stdout. */
  const mint = (args: string[]): string => {
    const r = ok(dir, ['token', 'create', ...args]);
    const token = r.stdout.trim();
    expect(r.stdout).toBe(`${token}\n`);
    tokens.push(token);
    return token;
  };
  const node7 = ['--profile', 'server', '--cn', 'node7.example', '--dns', 'node7.example', '--ip', '10.0.0.7'];
  const inventory = () => ok(dir, ['list', '--json']).json!.result as { serial: string; commonName: string }[];
  const enroll = (server: ServeProcess, out: string, extra: string[], env: Record<string, string> = {}) =>
    certctl(dir, ['enroll', '--server', server.url, '--ca-fingerprint', fingerprint, '--out', join(dir, out), ...extra], env);
  const csrFor = (name: string, names: string[]) => {
    opensslEcCsr(dir, `/CN=${names[0]}`, `${name}.key`, `${name}.csr`, ['-addext', `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`]);
    return readFileSync(join(dir, `${name}.csr`), 'utf8');
  };
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  beforeAll(async () => {
    requireBuiltCli();
    requireTool('openssl', ['version']);
    writeFileSync(join(dir, 'certctl.yaml'), 'serve:\n  tokens:\n    max_ttl: 1h\n');
    ok(dir, ['init', '--cn', 'Enroll Test CA']);
    ok(dir, ['--ca', 'other', 'init', '--cn', 'Other CA']);
    ok(dir, ['--ca', 'issuing', 'init', '--cn', 'Issuing CA', '--parent', 'default']);
    [a, b] = await Promise.all([startServe(dir), startServe(dir)]);
    fingerprint = run('openssl', ['x509', '-noout', '-fingerprint', '-sha256', '-in', a.caFile]).stdout.trim();
    validate = await openApiValidator(a);
  });
  afterAll(async () => {
    for (const s of [a, b]) if (s) expect(await s.stop()).toBe(0);
    cleanup();
  });

  it('enrolls a node once with --format docker (key 0600 in a 0700 directory, openssl verifies); the replay is refused on the other instance', async () => {
    const token = mint([...node7, '--ttl', '15m']);
    writeFileSync(join(dir, 'node7.token'), `${token}\n`);
    const before = inventory().length;
    const r = enroll(a, 'docker', ['--token-file', join(dir, 'node7.token'), '--format', 'docker']);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/enrolled: server certificate [0-9A-F]+ from CA "default"/);
    const out = join(dir, 'docker');
    expect(statSync(out).mode & 0o777).toBe(0o700);
    expect(statSync(join(out, 'server-key.pem')).mode & 0o777).toBe(0o600);
    expect(run('openssl', ['verify', '-CAfile', join(out, 'ca.pem'), '-purpose', 'sslserver', join(out, 'server-cert.pem')]).stdout).toMatch(/: OK/);
    const cert = new X509Certificate(readFileSync(join(out, 'server-cert.pem')));
    expect(cert.subject).toBe('CN=node7.example');
    expect(cert.subjectAltName).toBe('DNS:node7.example, IP Address:10.0.0.7');
    expect(cert.checkPrivateKey(createPrivateKey(readFileSync(join(out, 'server-key.pem'))))).toBe(true);
    const after = inventory();
    expect(after).toHaveLength(before + 1);
    expect(after.map((c) => c.commonName)).toContain('node7.example');

    // The same token again, on the other server instance (same store): refused, exit 7, nothing written or stored.
    const replay = enroll(b, 'replay', ['--token-file', join(dir, 'node7.token')]);
    expect(replay.status).toBe(7);
    expect(replay.stderr).toMatch(/\(401\): token [0-9a-f]{16} was already used/);
    expect(existsSync(join(dir, 'replay'))).toBe(false);
    // And on the first instance, through the API: 401 with the unauthorized code.
    const again = await httpsCall(a, 'POST', '/v1/sign', { json: { csr: csrFor('again', ['node7.example']) }, headers: bearer(token) });
    expect(again.status).toBe(401);
    expect(again.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(again.body).toMatchObject({ code: 'unauthorized', status: 401 });
    expect(again.body.detail).toMatch(/already used/);
    validate('/v1/sign', 'post', again);
    expect(inventory()).toHaveLength(before + 1);
  });

  it('takes the token from CERTCTL_TOKEN or --token, and writes the pem layout', () => {
    const fromEnv = enroll(b, 'env', [], { CERTCTL_TOKEN: mint(['--profile', 'client', '--cn', 'alice']) });
    expect(fromEnv.status).toBe(0);
    expect(run('openssl', ['verify', '-CAfile', join(dir, 'env', 'ca.pem'), '-purpose', 'sslclient', join(dir, 'env', 'cert.pem')]).stdout).toMatch(/: OK/);
    const fromFlag = enroll(a, 'flag', ['--token', mint(['--profile', 'client', '--cn', 'bob']), '--json']);
    expect(fromFlag.status).toBe(0);
    expect(fromFlag.json?.result).toMatchObject({ ca: 'default', certificate: { profile: 'client', commonName: 'bob' } });
    expect(fromFlag.json?.result.files).toEqual(['cert.pem', 'key.pem', 'ca.pem', 'chain.pem'].map((f) => join(dir, 'flag', f)));
  });

  it('enrolls from an intermediate CA of the server: pinned by its own fingerprint, its root trusted through the chain it signed', () => {
    const r = ok(dir, ['--ca', 'issuing', 'token', 'create', '--profile', 'client', '--cn', 'frank', '--json']);
    const { token, caFingerprint } = r.json!.result as { token: string; caFingerprint: string };
    tokens.push(token);
    expect(caFingerprint).not.toBe(fingerprint.split('=')[1]);
    const out = join(dir, 'frank');
    const enrolled = certctl(dir, ['enroll', '--server', a.url, '--token', token, '--ca-fingerprint', caFingerprint, '--out', out]);
    expect(enrolled.status).toBe(0);
    expect(enrolled.stderr).toMatch(/from CA "issuing"/);
    const verified = run('openssl', ['verify', '-CAfile', join(out, 'ca.pem'), '-untrusted', join(out, 'chain.pem'), join(out, 'cert.pem')]);
    expect(verified.stdout).toMatch(/cert\.pem: OK/);
    expect(new X509Certificate(readFileSync(join(out, 'cert.pem'))).issuer).toBe('CN=Issuing CA');
    // The root's fingerprint does not pin the intermediate the token names.
    const mismatch = certctl(dir, ['enroll', '--server', a.url, '--token', token, '--ca-fingerprint', fingerprint, '--out', join(dir, 'frank2')]);
    expect(mismatch.status).toBe(7);
  });

  it('refuses other names, another profile and another CA (403, the token not spent), then the token still works', async () => {
    const token = mint(['--profile', 'server', '--cn', 'node8.example', '--dns', 'node8.example']);
    const before = inventory().length;
    const own = csrFor('node8', ['node8.example']);
    const cases = [
      { json: { csr: csrFor('evil', ['evil.example']) }, says: /DNS name "evil\.example"|CN "evil\.example"/ },
      { json: { csr: csrFor('more', ['node8.example', 'extra.example']) }, says: /DNS name "extra\.example"/ },
      { json: { csr: own, profile: 'peer' }, says: /profile peer/ },
      { json: { csr: own, ca: 'other' }, says: /CA "other"/ },
    ];
    for (const c of cases) {
      const r = await httpsCall(b, 'POST', '/v1/sign', { json: c.json, headers: bearer(token) });
      expect(r.status).toBe(403);
      expect(r.body).toMatchObject({ code: 'policy_violation', status: 403 });
      expect(r.body.detail).toMatch(c.says);
      validate('/v1/sign', 'post', r);
    }
    // A TTL past the profile's is refused by policy before the token is spent, too.
    const long = await httpsCall(b, 'POST', '/v1/sign', { json: { csr: own, ttl: '3650d' }, headers: bearer(token) });
    expect(long.status).toBe(403);
    expect(inventory()).toHaveLength(before);
    // The token is bound to its profile and CA: a request naming neither gets them.
    const good = await httpsCall(a, 'POST', '/v1/sign', { json: { csr: own }, headers: bearer(token) });
    expect(good.status).toBe(201);
    expect(good.body).toMatchObject({ ca: 'default', profile: 'server' });
    validate('/v1/sign', 'post', good);
    expect(inventory()).toHaveLength(before + 1);
  });

  it('refuses a wrong CA fingerprint before the token is sent (exit 7, nothing written), and the token still works after', async () => {
    const token = mint(['--profile', 'client', '--cn', 'carol']);
    const signsBefore = await signRequests(a);
    const wrong = certctl(dir, ['enroll', '--server', a.url, '--token', token, '--ca-fingerprint', 'AB'.repeat(32), '--out', join(dir, 'wrong-fp')]);
    expect(wrong.status).toBe(7);
    expect(wrong.stderr).toMatch(/has SHA-256 fingerprint .* not the AB:AB/);
    expect(existsSync(join(dir, 'wrong-fp'))).toBe(false);
    const malformed = certctl(dir, ['enroll', '--server', a.url, '--token', token, '--ca-fingerprint', 'nonsense', '--out', join(dir, 'x')]);
    expect(malformed.status).toBe(2);
    expect(await signRequests(a)).toBe(signsBefore);
    expect(enroll(a, 'carol', ['--token', token]).status).toBe(0);
  });

  it('refuses an expired token (401 on the server, exit 7 for enroll) and keeps serve.tokens.max_ttl', async () => {
    const token = mint(['--profile', 'client', '--cn', 'dave', '--ttl', '1s']);
    const expiresAt = Date.parse(JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).expiresAt);
    // Wait for the clock the server shares with this test to pass the expiry.
    while (Date.now() <= expiresAt + 100) await new Promise((resolve) => setTimeout(resolve, 100));
    const before = inventory().length;
    const r = enroll(b, 'dave', ['--token', token]);
    expect(r.status).toBe(7);
    expect(r.stderr).toMatch(/token [0-9a-f]{16} expired at/);
    expect(existsSync(join(dir, 'dave'))).toBe(false);
    expect(inventory()).toHaveLength(before);
    const long = certctl(dir, ['token', 'create', '--profile', 'client', '--cn', 'x', '--ttl', '2h']);
    expect(long.status).toBe(5);
    expect(long.stderr).toMatch(/serve\.tokens\.max_ttl \(1h\)/);
    expect(long.stdout).toBe('');
  });

  it('answers a wrong, made-up or garbage token with 401 (no certificate)', async () => {
    const before = inventory().length;
    const csr = csrFor('anyone', ['anyone.example']);
    const real = mint(['--profile', 'client', '--cn', 'erin']);
    const forged = `${real.slice(0, -4)}AAAA`;
    for (const header of [bearer(forged), bearer('garbage'), { authorization: 'Bearer' }, bearer(`certctl1.${'x'.repeat(20)}.${'y'.repeat(43)}`)]) {
      const r = await httpsCall(a, 'POST', '/v1/sign', { json: { csr }, headers: header });
      expect(r.status).toBe(401);
      expect(r.body.code).toBe('unauthorized');
      validate('/v1/sign', 'post', r);
    }
    const unknown = certctl(dir, ['enroll', '--server', a.url, '--token', forged, '--ca-fingerprint', fingerprint, '--out', join(dir, 'forged')]);
    expect(unknown.status).toBe(7);
    expect(unknown.stderr).toMatch(/is not known to this CA/);
    const garbage = certctl(dir, ['enroll', '--server', a.url, '--token', 'garbage', '--ca-fingerprint', fingerprint, '--out', join(dir, 'g')]);
    expect(garbage.status).toBe(2);
    expect(inventory()).toHaveLength(before);
  });

  it('of 10 concurrent requests with one token, over both instances, exactly one gets a certificate', async () => {
    const token = mint(['--profile', 'server', '--cn', 'race.example', '--dns', 'race.example']);
    const csr = csrFor('race', ['race.example']);
    const before = inventory().length;
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => httpsCall(i % 2 ? a : b, 'POST', '/v1/sign', { json: { csr }, headers: bearer(token) })),
    );
    expect(answers.filter((r) => r.status === 201)).toHaveLength(1);
    for (const r of answers.filter((x) => x.status !== 201)) expect(r.body).toMatchObject({ status: 401, code: 'unauthorized' });
    expect(inventory()).toHaveLength(before + 1);
    // Concurrent enrollments from two nodes with one token: one exit 0, one exit 7.
    const shared = mint(['--profile', 'client', '--cn', 'twin']);
    const results = await Promise.all(
      [a, b].map((s, i) =>
        certctlAsync(dir, ['enroll', '--server', s.url, '--token', shared, '--ca-fingerprint', fingerprint, '--out', join(dir, `twin${i}`)]),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([0, 7]);
  });

  it('never writes a token to the server logs; token prune removes only expired tokens', () => {
    for (const token of tokens) {
      const secret = token.split('.')[2];
      expect(a.log()).not.toContain(secret);
      expect(b.log()).not.toContain(secret);
    }
    const pruned = ok(dir, ['token', 'prune', '--json']);
    expect(pruned.json?.result.removed).toBe(1); // dave's
  });
});

/**
 * How many POST /v1/sign a server has logged: once the line of a /health request sent now has
 * arrived, every line of the requests answered before it has too.
 */
async function signRequests(server: ServeProcess): Promise<number> {
  const probe = await httpsCall(server, 'GET', '/health');
  const id = probe.headers['x-request-id'] as string;
  for (let i = 0; i < 100 && !server.log().includes(id); i++) await new Promise((resolve) => setTimeout(resolve, 20));
  expect(server.log()).toContain(id);
  return server
    .log()
    .split('\n')
    .filter((l) => l.includes('"url":"/v1/sign"')).length;
}
