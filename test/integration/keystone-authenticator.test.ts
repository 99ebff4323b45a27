/**
 * The Keystone authenticator of `certctl serve` in process, against the real Keystone, with a
 * clock the test moves (no waiting) and the real HTTP transport wrapped to count the calls that
 * reach Keystone: validated tokens are remembered for cache_ttl and never past their expiry, a
 * revoked token stops working when its cache entry ends, concurrent requests share one call, and
 * refused service credentials are the server's problem (backend_auth), not the caller's.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { AxiosTransport, type HttpRequest, type HttpTransport } from '../../src/backends/http/transport';
import { BackendAuthError, UnauthorizedError } from '../../src/core/errors';
import type { KeystoneOptions, Role } from '../../src/server/config';
import { KeystoneAuthenticator } from '../../src/server/keystone/authenticator';
import { serveKeystone, userToken, type KeystoneAdmin } from '../support/keystone-admin';
import { describeWithOpenStack } from '../support/servers';

jest.setTimeout(120000);

describeWithOpenStack('Keystone authenticator (in process, real Keystone)', (servers) => {
  const signer: Role = { name: 'signer', admin: false, profiles: ['server'], names: ['*'], cas: ['default'] };
  let admin: KeystoneAdmin;
  let service: { name: string; password: string };
  let user: { name: string; password: string; id: string };
  let roleName: string;

  beforeAll(async () => {
    ({ admin, service, user, roleName } = await serveKeystone(servers, 'auth'));
  });
  afterAll(() => admin?.cleanup());

  const options = (overrides: Partial<KeystoneOptions> = {}): KeystoneOptions => ({
    url: servers.authUrl,
    roles: new Map([[roleName, signer]]),
    username: service.name,
    password: () => service.password,
    project: { name: 'service', domain: 'Default' },
    userDomain: 'Default',
    timeoutMs: 10000,
    cacheTtlSeconds: 60,
    ...overrides,
  });
  const request = (token: string) => ({ headers: { 'x-auth-token': token } }) as unknown as FastifyRequest;

  /** A clock the test moves, and the real transport with a log of the calls that went out. */
  function harness() {
    const clock = { now: Date.now() };
    const calls: string[] = [];
    const serviceTokens: string[] = [];
    const transport = (o: KeystoneOptions): HttpTransport => {
      const real = new AxiosTransport({ timeoutMs: o.timeoutMs });
      return {
        send: async (r: HttpRequest) => {
          calls.push(r.method);
          const res = await real.send(r);
          if (r.method === 'POST' && res.headers['x-subject-token']) serviceTokens.push(res.headers['x-subject-token']);
          return res;
        },
      };
    };
    const authenticator = new KeystoneAuthenticator(() => clock.now, transport);
    const validations = () => calls.filter((m) => m === 'GET').length;
    return { clock, calls, serviceTokens, authenticator, validations };
  }

  it('maps the token to a keystone principal with its user id, project and mapped roles', async () => {
    const { authenticator } = harness();
    const token = await userToken(servers.authUrl, user.name, user.password, 'demo');
    const principal = await authenticator.authenticate(request(token), options());
    expect(principal).toMatchObject({ kind: 'keystone', id: user.id, project: await admin.projectId('demo'), roles: [signer] });
    expect(await authenticator.authenticate({ headers: {} } as FastifyRequest, options())).toBeUndefined();
  });

  it('asks Keystone once per cache_ttl, and again once the entry is older', async () => {
    const { clock, calls, authenticator, validations } = harness();
    const token = await userToken(servers.authUrl, user.name, user.password, 'demo');
    const o = options();
    await authenticator.authenticate(request(token), o);
    expect(calls).toEqual(['POST', 'GET']); // the service login, then the validation
    clock.now += 59_000;
    await authenticator.authenticate(request(token), o);
    expect(validations()).toBe(1);
    clock.now += 2_000;
    await authenticator.authenticate(request(token), o);
    expect(validations()).toBe(2);
    expect(calls.filter((m) => m === 'POST')).toHaveLength(1); // the service token is reused
  });

  it('shares one validation between concurrent requests with the same token', async () => {
    const { authenticator, validations } = harness();
    const token = await userToken(servers.authUrl, user.name, user.password, 'demo');
    const o = options();
    await Promise.all([1, 2, 3, 4].map(() => authenticator.authenticate(request(token), o)));
    expect(validations()).toBe(1);
  });

  it('never trusts a cached token past its expiry', async () => {
    const { clock, authenticator, validations } = harness();
    const token = await userToken(servers.authUrl, user.name, user.password, 'demo');
    const expiresAt = Date.parse((await admin.call('GET', '/auth/tokens?nocatalog', undefined, [200], { 'X-Subject-Token': token })).token.expires_at);
    const o = options();
    clock.now = expiresAt - 10_000;
    await authenticator.authenticate(request(token), o);
    clock.now = expiresAt + 1_000; // 11 s later: within cache_ttl, but past the token's expiry
    await authenticator.authenticate(request(token), o);
    expect(validations()).toBe(2);
  });

  it('refuses a revoked token once its cache entry has ended (at most cache_ttl), and at once with cache_ttl 0', async () => {
    const { clock, authenticator } = harness();
    const token = await userToken(servers.authUrl, user.name, user.password, 'demo');
    const o = options();
    await authenticator.authenticate(request(token), o);
    await admin.revokeToken(token);
    await expect(authenticator.authenticate(request(token), o)).resolves.toMatchObject({ kind: 'keystone' });
    clock.now += 61_000;
    await expect(authenticator.authenticate(request(token), o)).rejects.toThrow(UnauthorizedError);

    const uncached = harness();
    const second = await userToken(servers.authUrl, user.name, user.password, 'demo');
    const noCache = options({ cacheTtlSeconds: 0 });
    await uncached.authenticator.authenticate(request(second), noCache);
    await admin.revokeToken(second);
    await expect(uncached.authenticator.authenticate(request(second), noCache)).rejects.toThrow(/Keystone does not accept the X-Auth-Token/);
  });

  it('logs in again when Keystone no longer accepts its own service token', async () => {
    const { calls, serviceTokens, authenticator } = harness();
    const o = options();
    await authenticator.authenticate(request(await userToken(servers.authUrl, user.name, user.password, 'demo')), o);
    await admin.revokeToken(serviceTokens[0]);
    const principal = await authenticator.authenticate(request(await userToken(servers.authUrl, user.name, user.password, 'demo')), o);
    expect(principal).toMatchObject({ kind: 'keystone', id: user.id });
    expect(calls).toEqual(['POST', 'GET', 'GET', 'POST', 'GET']); // the GET refused with 401, a new login, the GET again
    expect(serviceTokens).toHaveLength(2);
  });

  it('reports refused service credentials as backend_auth (the operator must act), naming the user but not the password', async () => {
    const { authenticator } = harness();
    const token = await userToken(servers.authUrl, user.name, user.password, 'demo');
    const wrong = `wrong-${randomBytes(6).toString('hex')}`;
    const err = await authenticator.authenticate(request(token), options({ password: () => wrong })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendAuthError);
    expect((err as Error).message).toMatch(new RegExp(`refused certctl's service user ${service.name} \\(401\\)`));
    expect((err as Error).message).not.toContain(wrong);
    expect((err as Error).message).not.toContain(token);
  });
});
