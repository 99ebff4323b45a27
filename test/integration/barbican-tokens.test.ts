/**
 * Enrollment tokens over Barbican are refused, plainly: Barbican has no compare-and-set, so a
 * token's one-time use could not hold across server instances (README "Enrollment tokens").
 * `token create` exits 9 before anything is stored; `certctl serve` over Barbican answers a bearer
 * token with 400 not_supported, while its other endpoints work.
 */
import { certctl, ok, tempDir } from '../support/cli';
import { httpsCall, startServe } from '../support/serve';
import { describeWithOpenStack, freshPrefix, inspector, keystoneConfig, keystoneEnv } from '../support/servers';

jest.setTimeout(180000);

describeWithOpenStack('enrollment tokens over Barbican', (servers) => {
  const t = tempDir('certctl-barbican-tokens-');
  const prefix = freshPrefix();
  const env = keystoneEnv(servers, prefix);

  afterAll(async () => {
    await inspector(keystoneConfig(servers, prefix, t.dir)).purge(prefix);
    t.cleanup();
  });

  it('token create exits 9 naming why; serve refuses a bearer token with 400 not_supported', async () => {
    ok(t.dir, ['init', '--cn', 'Barbican Token CA'], env);
    const before = (await inspector(keystoneConfig(servers, prefix, t.dir)).objects(prefix)).secrets.length;
    const r = certctl(t.dir, ['token', 'create', '--profile', 'client', '--cn', 'alice'], env);
    expect(r.status).toBe(9);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/not available over the barbican store: one-time use needs a store with atomic compare-and-set/);
    expect((await inspector(keystoneConfig(servers, prefix, t.dir)).objects(prefix)).secrets.length).toBe(before);

    const server = await startServe(t.dir, env);
    try {
      const answer = await httpsCall(server, 'POST', '/v1/sign', {
        json: { csr: 'x' },
        headers: { authorization: `Bearer certctl1.e30.${'A'.repeat(43)}` },
      });
      expect(answer.status).toBe(400);
      expect(answer.body).toMatchObject({ code: 'not_supported' });
      expect((await httpsCall(server, 'GET', '/v1/ca')).status).toBe(200);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});
