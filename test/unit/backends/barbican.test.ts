import { chunkEvents, type InventoryEvent } from '../../../src/backends/barbican/barbican-cert-store';
import { describeHttpFailure } from '../../../src/backends/barbican/errors';
import { parseBarbicanOptions } from '../../../src/backends/barbican/options';
import { parseSecretPage } from '../../../src/backends/barbican/responses';
import { barbicanUrls, nextOffset } from '../../../src/backends/barbican/urls';
import { RetryingTransport, TransportError, type HttpRequest, type HttpResponse, type HttpTransport } from '../../../src/backends/http/transport';
import type { ResolvedConfig } from '../../../src/core/config/load';
import { BackendAuthError, BackendUnavailableError, ConfigError, InvalidInputError, NotFoundError } from '../../../src/core/errors';

function config(section: unknown, env: Record<string, string> = {}): ResolvedConfig {
  return { baseDir: '/etc/certctl', path: '/etc/certctl/certctl.yaml', sections: { barbican: section }, env } as unknown as ResolvedConfig;
}

describe('barbican options', () => {
  it('fills the password method from OS_* variables, domains defaulting to Default', () => {
    const o = parseBarbicanOptions(config({}, { OS_AUTH_URL: 'https://ks.example:5000/v3/', OS_USERNAME: 'u', OS_PASSWORD: 'p', OS_PROJECT_NAME: 'infra' }));
    expect(o.auth).toEqual({ method: 'password', authUrl: 'https://ks.example:5000/v3', username: 'u', password: 'p', projectName: 'infra', projectId: undefined, userDomainName: 'Default', projectDomainName: 'Default' });
    expect(o.endpoint).toBeUndefined();
    expect(o.timeoutMs).toBe(30000);
  });

  it('prefers OS_TOKEN to a password when no method is written down', () => {
    expect(parseBarbicanOptions(config({ endpoint: 'https://b.example:9311' }, { OS_TOKEN: 't' })).auth).toEqual({ method: 'token', token: 't', authUrl: undefined });
  });

  it('names the missing piece of each method', () => {
    expect(() => parseBarbicanOptions(config({ auth: { method: 'noauth' } }))).toThrow(/barbican.auth.project_id/);
    expect(() => parseBarbicanOptions(config({ auth: { method: 'noauth', project_id: 'p' } }))).toThrow(/barbican.endpoint/);
    expect(() => parseBarbicanOptions(config({ auth: { method: 'password', auth_url: 'https://k.example/v3', username: 'u' } }))).toThrow(/password_file.*OS_PASSWORD/);
    expect(() => parseBarbicanOptions(config({}))).toThrow(ConfigError);
    expect(() => parseBarbicanOptions(config({ auth: { method: 'kerberos' } }))).toThrow(/barbican.auth.method: expected one of password, token, noauth/);
    expect(() => parseBarbicanOptions(config({ endpoint: 'ftp://x' }))).toThrow(/barbican.endpoint/);
    expect(() => parseBarbicanOptions(config({ pasword_file: 'x' }))).toThrow(/unknown key "pasword_file"/);
  });

  it('drops a trailing /v1 from the endpoint, reads legacy OS_INTERFACE values, and refuses a URL without a scheme', () => {
    const o = parseBarbicanOptions(config({ endpoint: 'https://b.example:9311/v1/' }, { OS_TOKEN: 't', OS_INTERFACE: 'internalURL' }));
    expect(o.endpoint).toBe('https://b.example:9311');
    expect(o.interface).toBe('internal');
    expect(() => parseBarbicanOptions(config({}, { OS_AUTH_URL: 'keystone:5000/v3', OS_USERNAME: 'u', OS_PASSWORD: 'p', OS_PROJECT_NAME: 'x' }))).toThrow(/OS_AUTH_URL: "keystone:5000\/v3" is not an http/);
  });

  it('never takes a password from the YAML itself', () => {
    expect(() => parseBarbicanOptions(config({ auth: { password: 'in-the-file' } }))).toThrow(/unknown key "password"/);
  });
});

describe('barbican urls and responses', () => {
  it('re-applies filters to every page: Barbican drops them from `next`', () => {
    expect(nextOffset('http://b:9311/v1/secrets?limit=100&offset=200')).toBe(200);
    expect(nextOffset(undefined)).toBeUndefined();
    expect(barbicanUrls.secretList('http://b:9311', { name: 'certctl/a_b/inventory', offset: 200, limit: 100 })).toBe(
      'http://b:9311/v1/secrets?limit=100&offset=200&name=certctl%2Fa_b%2Finventory&sort=created%3Aasc',
    );
  });

  it('parses a secret list and refuses a body of another shape', () => {
    const page = parseSecretPage({ secrets: [{ secret_ref: 'http://b/v1/secrets/abc', name: 'n', secret_type: 'private', created: '2026-01-01T00:00:00' }], total: 1 });
    expect(page.items).toEqual([{ id: 'abc', name: 'n', secretType: 'private', created: '2026-01-01T00:00:00' }]);
    expect(() => parseSecretPage({ versions: [] })).toThrow(/unexpected secret list response/);
  });
});

describe('inventory segments', () => {
  const issue = (i: number): InventoryEvent => ({
    t: 'issue',
    cert: 'c',
    container: 'k',
    record: { serial: i.toString(16).padStart(32, '0'), profile: 'node', commonName: `node-${i}`, dnsNames: [], ipAddresses: [], keyType: 'ec-p256', notBefore: '', notAfter: '', issuedAt: '', hasKey: true, sha256: 'x'.repeat(64), status: 'valid' },
  });

  it('stay under the payload limit, each with its own nonce, and lose no event', () => {
    const chunks = chunkEvents(Array.from({ length: 500 }, (_, i) => issue(i)));
    expect(chunks.length).toBeGreaterThan(5);
    for (const c of chunks) expect(c.text.length).toBeLessThan(15000);
    expect(new Set(chunks.map((c) => c.nonce)).size).toBe(chunks.length);
    const events = chunks.flatMap((c) => JSON.parse(c.text).events);
    expect(events).toHaveLength(500);
    expect(JSON.parse(chunks[0].text).w).toBe(chunks[0].nonce);
  });
});

describe('barbican error translation', () => {
  const opts = { timeoutMs: 30000 };
  const url = 'https://barbican.example:9311/v1/secrets';
  it.each([
    [{ status: 401, data: {} }, BackendAuthError, /rejected the credentials \(401\)/],
    [{ status: 403, data: { description: 'No role' } }, BackendAuthError, /refused .*\(403\): No role.*creator or admin/],
    [{ status: 404, data: {} }, NotFoundError, /\(404\)/],
    [{ status: 413, data: {} }, InvalidInputError, /too large \(413\).*20,000/],
    [{ status: 400, data: { description: 'Malformed JSON' } }, InvalidInputError, /max_allowed_request_size_in_bytes/],
    [{ status: 503, data: '<html>busy</html>' }, BackendUnavailableError, /failed .*\(503\)/],
    [{ status: 403, data: { description: 'Creation not allowed because a quota has been reached' } }, BackendUnavailableError, /quota is used up/],
    [{ status: 302, data: '' }, ConfigError, /redirects \(302\)/],
  ])('%o', (failure, Kind, message) => {
    const err = describeHttpFailure(failure, 'Barbican', url, opts, { what: ' storing x', hint: 'the user' });
    expect(err).toBeInstanceOf(Kind);
    expect(err.message).toMatch(message);
  });

  it('connection refused and timeouts are "unavailable"; a TLS failure is configuration, never retried', () => {
    expect(describeHttpFailure(new TransportError('x', 'ECONNREFUSED', false), 'Barbican', url, opts)).toBeInstanceOf(BackendUnavailableError);
    expect(describeHttpFailure(new TransportError('x', 'ETIMEDOUT', true), 'Barbican', url, opts).message).toMatch(/within 30s.*barbican.timeout/);
    const tls = describeHttpFailure(new TransportError('x', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', true), 'Barbican', url, opts);
    expect(tls).toBeInstanceOf(ConfigError);
    expect(tls.message).toMatch(/barbican.ca_file.*OS_CACERT.*Verification stays on/);
  });
});

describe('RetryingTransport', () => {
  /** A scripted transport: each call takes the next outcome. */
  function scripted(outcomes: (HttpResponse | Error)[]): HttpTransport & { calls: number } {
    const t = {
      calls: 0,
      async send(_r: HttpRequest): Promise<HttpResponse> {
        const o = outcomes[t.calls++];
        if (o instanceof Error) throw o;
        return o;
      },
    };
    return t;
  }
  const ok = { status: 200, headers: {}, data: {} };

  it('retries an idempotent request after a reset or a 503', async () => {
    const inner = scripted([new TransportError('reset', 'ECONNRESET', true), { status: 503, headers: {}, data: '' }, ok]);
    expect(await new RetryingTransport(inner, { retries: 2, baseDelayMs: 1 }).send({ method: 'GET', url: 'x', idempotent: true })).toBe(ok);
    expect(inner.calls).toBe(3);
  });

  it('never repeats a POST that may have reached the server, but does one that was refused', async () => {
    const sent = scripted([new TransportError('reset', 'ECONNRESET', true), ok]);
    await expect(new RetryingTransport(sent, { retries: 2, baseDelayMs: 1 }).send({ method: 'POST', url: 'x' })).rejects.toThrow('reset');
    expect(sent.calls).toBe(1);
    const refused = scripted([new TransportError('refused', 'ECONNREFUSED', false), ok]);
    expect(await new RetryingTransport(refused, { retries: 2, baseDelayMs: 1 }).send({ method: 'POST', url: 'x' })).toBe(ok);
  });

  it('gives up after the bound, and never retries a TLS failure', async () => {
    const down = scripted([503, 503, 503, 503].map((status) => ({ status, headers: {}, data: '' })));
    expect((await new RetryingTransport(down, { retries: 2, baseDelayMs: 1 }).send({ method: 'GET', url: 'x', idempotent: true })).status).toBe(503);
    expect(down.calls).toBe(3);
    const tls = scripted([new TransportError('bad cert', 'SELF_SIGNED_CERT_IN_CHAIN', true), ok]);
    await expect(new RetryingTransport(tls, { retries: 2, baseDelayMs: 1 }).send({ method: 'GET', url: 'x', idempotent: true })).rejects.toThrow('bad cert');
  });
});
