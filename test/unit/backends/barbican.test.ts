import { describeHttpFailure, mayHaveTakenEffect } from '../../../src/backends/barbican/errors';
import { chunkEvents, compactedEvents, foldSegments, type InventoryEvent } from '../../../src/backends/barbican/inventory-log';
import { ObjectNames } from '../../../src/backends/barbican/object-map';
import { parseBarbicanOptions } from '../../../src/backends/barbican/options';
import { parseErrorResponse, parseSecretPage, UnexpectedResponseError } from '../../../src/backends/barbican/responses';
import { barbicanUrls, nextOffset } from '../../../src/backends/barbican/urls';
import { leftoverMessage, WriteJournal } from '../../../src/backends/barbican/write-rollback';
import { RetryingTransport, TransportError, type HttpRequest, type HttpResponse, type HttpTransport } from '../../../src/backends/http/transport';
import type { ResolvedConfig } from '../../../src/core/config/load';
import { BackendAuthError, BackendUnavailableError, ConfigError, InternalError, InvalidInputError, NotFoundError } from '../../../src/core/errors';

function config(section: unknown, env: Record<string, string> = {}): ResolvedConfig {
  return { baseDir: '/etc/certctl', path: '/etc/certctl/certctl.yaml', sections: { barbican: section }, env } as unknown as ResolvedConfig;
}

describe('barbican options', () => {
  it('fills the password method from OS_* variables, domains defaulting to Default', () => {
    const o = parseBarbicanOptions(config({}, { OS_AUTH_URL: 'https://ks.example:5000/v3/', OS_USERNAME: 'u', OS_PASSWORD: 'p', OS_PROJECT_NAME: 'infra' }));
    expect(o.auth).toEqual({
      method: 'password',
      authUrl: 'https://ks.example:5000/v3',
      username: 'u',
      password: 'p',
      projectName: 'infra',
      projectId: undefined,
      userDomainName: 'Default',
      projectDomainName: 'Default',
    });
    expect(o.endpoint).toBeUndefined();
    expect(o.timeoutMs).toBe(30000);
  });

  it('prefers OS_TOKEN to a password when no method is written down', () => {
    expect(parseBarbicanOptions(config({ endpoint: 'https://b.example:9311' }, { OS_TOKEN: 't' })).auth).toEqual({
      method: 'token',
      token: 't',
      authUrl: undefined,
    });
  });

  it('names the missing piece of each method', () => {
    expect(() => parseBarbicanOptions(config({ auth: { method: 'noauth' } }))).toThrow(/barbican.auth.project_id/);
    expect(() => parseBarbicanOptions(config({ auth: { method: 'noauth', project_id: 'p' } }))).toThrow(/barbican.endpoint/);
    expect(() => parseBarbicanOptions(config({ auth: { method: 'password', auth_url: 'https://k.example/v3', username: 'u' } }))).toThrow(
      /password_file.*OS_PASSWORD/,
    );
    expect(() => parseBarbicanOptions(config({}))).toThrow(ConfigError);
    expect(() => parseBarbicanOptions(config({ auth: { method: 'kerberos' } }))).toThrow(/barbican.auth.method: expected one of password, token, noauth/);
    expect(() => parseBarbicanOptions(config({ endpoint: 'ftp://x' }))).toThrow(/barbican.endpoint/);
    expect(() => parseBarbicanOptions(config({ pasword_file: 'x' }))).toThrow(/unknown key "pasword_file"/);
    expect(() => parseBarbicanOptions(config({ endpoint: 'https://b.example:9311' }, { OS_TOKEN: 't', CERTCTL_BARBICAN_PREFIX: '../x' }))).toThrow(
      /CERTCTL_BARBICAN_PREFIX: "\.\.\/x" is not a valid name prefix/,
    );
  });

  it('drops a trailing /v1 from the endpoint, reads legacy OS_INTERFACE values, and refuses a URL without a scheme', () => {
    const o = parseBarbicanOptions(config({ endpoint: 'https://b.example:9311/v1/' }, { OS_TOKEN: 't', OS_INTERFACE: 'internalURL' }));
    expect(o.endpoint).toBe('https://b.example:9311');
    expect(o.interface).toBe('internal');
    expect(() => parseBarbicanOptions(config({}, { OS_AUTH_URL: 'keystone:5000/v3', OS_USERNAME: 'u', OS_PASSWORD: 'p', OS_PROJECT_NAME: 'x' }))).toThrow(
      /OS_AUTH_URL: "keystone:5000\/v3" is not an http/,
    );
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
    const page = parseSecretPage({
      secrets: [{ secret_ref: 'http://b/v1/secrets/abc', name: 'n', secret_type: 'private', created: '2026-01-01T00:00:00' }],
      total: 1,
    });
    expect(page.items).toEqual([{ id: 'abc', name: 'n', secretType: 'private', created: '2026-01-01T00:00:00' }]);
    expect(() => parseSecretPage({ versions: [] })).toThrow(/unexpected secret list response/);
  });
});

describe('inventory segments', () => {
  const issue = (i: number): InventoryEvent => ({
    t: 'issue',
    cert: 'c',
    container: 'k',
    record: {
      serial: i.toString(16).padStart(32, '0'),
      profile: 'node',
      commonName: `node-${i}`,
      dnsNames: [],
      ipAddresses: [],
      keyType: 'ec-p256',
      notBefore: '',
      notAfter: '',
      issuedAt: '',
      hasKey: true,
      sha256: 'x'.repeat(64),
      status: 'valid',
    },
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

describe('inventory folding and compaction', () => {
  const issue = (serial: string): InventoryEvent => ({
    t: 'issue',
    cert: `c-${serial}`,
    container: 'k',
    record: {
      serial,
      profile: 'node',
      commonName: serial,
      dnsNames: [],
      ipAddresses: [],
      keyType: 'ec-p256',
      notBefore: '',
      notAfter: '',
      issuedAt: '',
      hasKey: true,
      sha256: 'x',
      status: 'valid',
    },
  });
  const revoke = (serial: string, at: string): InventoryEvent => ({ t: 'revoke', serial, reason: 'keyCompromise', at });
  const seg = (id: string, events: InventoryEvent[]) => ({ id, created: 1, events });

  it('applies the earliest revocation whatever the segment order, and ignores duplicates', () => {
    const segments = [
      seg('2', [revoke('A', '2026-03-01T00:00:00Z'), { t: 'crl', n: '7' }]),
      seg('1', [issue('A'), issue('B'), revoke('A', '2026-02-01T00:00:00Z')]),
      seg('3', [issue('A'), { t: 'crl', n: '3' }]),
    ];
    const inventory = foldSegments(segments);
    expect(inventory.entries.get('A')!.record).toMatchObject({ status: 'revoked', revokedAt: '2026-02-01T00:00:00Z' });
    expect(inventory.entries.get('B')!.record.status).toBe('valid');
    expect(inventory.crlMax).toBe(7n);
  });

  it('merges to one issue per serial, the earliest revocation and the highest CRL number', () => {
    const events = compactedEvents([
      seg('1', [issue('A'), revoke('A', '2026-03-01'), { t: 'crl', n: '2' }]),
      seg('2', [issue('A'), revoke('A', '2026-02-01'), revoke('Z', '2026-01-01'), { t: 'crl', n: '9' }]),
    ]);
    expect(events).toEqual([issue('A'), revoke('A', '2026-02-01'), revoke('Z', '2026-01-01'), { t: 'crl', n: '9' }]);
  });
});

describe('barbican error translation (errors.ts, the one table)', () => {
  const opts = { timeoutMs: 30000 };
  const url = 'https://barbican.example:9311/v1/secrets';
  const ks = 'https://keystone.example:5000/v3/auth/tokens';
  it.each([
    ['Barbican', 401, {}, BackendAuthError, /rejected the credentials \(401\); check the user/],
    ['Barbican', 403, { description: 'No role' }, BackendAuthError, /refused storing x \(403\): No role.*creator or admin/],
    [
      'Barbican',
      403,
      { code: 403, title: 'Forbidden', description: 'Secret creation issue seen - Creation not allowed because a quota has been reached.' },
      BackendUnavailableError,
      /quota is used up/,
    ],
    ['Barbican', 404, {}, NotFoundError, /has no storing x \(404\)/],
    ['Barbican', 413, {}, InvalidInputError, /too large \(413\).*20,000/],
    ['Barbican', 400, { description: 'Malformed JSON' }, InvalidInputError, /max_allowed_request_size_in_bytes/],
    ['Barbican', 400, { description: 'Invalid secret type' }, InvalidInputError, /check the values certctl was asked to store/],
    ['Barbican', 503, '<html>busy</html>', BackendUnavailableError, /failed storing x \(503\); retry later/],
    ['Barbican', 302, '', ConfigError, /redirects \(302\)/],
    ['Barbican', 418, {}, InternalError, /answered storing x with 418/],
    [
      'Keystone',
      401,
      { error: { message: 'The request you have made requires authentication.' } },
      BackendAuthError,
      /^Keystone refused the credentials \(401\); check the user$/,
    ],
    ['Keystone', 403, {}, BackendAuthError, /^Keystone refused the credentials \(403\)/],
    ['Keystone', 404, {}, ConfigError, /answered 404 for \/v3\/auth\/tokens; OS_AUTH_URL .* ending in \/v3/],
    ['Keystone', 300, {}, ConfigError, /must be Keystone's v3 URL/],
    ['Keystone', 500, {}, BackendUnavailableError, /^Keystone at https:\/\/keystone.example:5000 failed storing x \(500\)/],
  ] as const)('%s %d %j', (service, status, data, Kind, message) => {
    const failure = parseErrorResponse(status, data);
    const err = describeHttpFailure(failure, service, service === 'Keystone' ? ks : url, opts, { what: 'storing x', hint: 'the user' });
    expect(err).toBeInstanceOf(Kind);
    expect(err.message).toMatch(message);
    expect(err.cause).toBe(failure);
  });

  it('reads the reason of a refusal once, from the body, into a typed field', () => {
    expect(parseErrorResponse(403, { description: 'Creation not allowed because a quota has been reached' }).reason).toBe('quota');
    expect(parseErrorResponse(400, { description: 'Malformed JSON' }).reason).toBe('request-too-large');
    // The same words under another status say nothing more than the status.
    expect(parseErrorResponse(400, { description: 'quota' }).reason).toBeUndefined();
    expect(parseErrorResponse(403, { description: 'Secret creation attempt not allowed - please review your user/project privileges' }).reason).toBeUndefined();
  });

  it('a body of the wrong shape: "is this Barbican?" (exit 6), from Keystone a login failure naming OS_AUTH_URL (exit 7)', () => {
    const odd = new UnexpectedResponseError('unexpected secret list response from the server: secrets expected array');
    expect(describeHttpFailure(odd, 'Barbican', url, opts)).toBeInstanceOf(BackendUnavailableError);
    const token = describeHttpFailure(new UnexpectedResponseError('answered without an X-Subject-Token header'), 'Keystone', ks, opts);
    expect(token).toBeInstanceOf(BackendAuthError);
    expect(token.message).toMatch(/X-Subject-Token.*OS_AUTH_URL/);
  });

  it('connection refused and timeouts are "unavailable"; a TLS failure is configuration, never retried', () => {
    expect(describeHttpFailure(new TransportError('x', 'ECONNREFUSED', false), 'Barbican', url, opts)).toBeInstanceOf(BackendUnavailableError);
    expect(describeHttpFailure(new TransportError('x', 'ETIMEDOUT', true), 'Barbican', url, opts).message).toMatch(/within 30s.*barbican.timeout/);
    const tls = describeHttpFailure(new TransportError('x', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', true), 'Barbican', url, opts);
    expect(tls).toBeInstanceOf(ConfigError);
    expect(tls.message).toMatch(/barbican.ca_file.*OS_CACERT.*Verification stays on/);
    expect(describeHttpFailure(new TransportError('x', 'ERR_TLS_CERT_ALTNAME_INVALID', true), 'Barbican', url, opts).message).toMatch(
      /does not name this host/,
    );
    expect(describeHttpFailure(new TransportError('x', 'CERT_HAS_EXPIRED', true), 'Barbican', url, opts).message).toMatch(/outside its validity period/);
    const custom = describeHttpFailure(new TransportError('x', 'SELF_SIGNED_CERT_IN_CHAIN', true), 'Keystone', ks, {
      ...opts,
      caFile: '/etc/ca.pem',
      caFileOrigin: 'OS_CACERT',
    });
    expect(custom.message).toMatch(/^Keystone at https:\/\/keystone.example:5000: TLS verification failed .*\/etc\/ca.pem \(OS_CACERT\) does not vouch for it/);
  });

  it('anything untyped is a bug (exit 1), kept as the cause', () => {
    const bug = new TypeError('x is undefined');
    const err = describeHttpFailure(bug, 'Barbican', url, opts);
    expect(err).toBeInstanceOf(InternalError);
    expect(err.cause).toBe(bug);
  });

  it.each([
    ['a reset after the request went out', true, new TransportError('reset', 'ECONNRESET', true)],
    ['a timeout', true, new TransportError('t', 'ETIMEDOUT', true)],
    ['connection refused', false, new TransportError('refused', 'ECONNREFUSED', false)],
    ['a 500', true, parseErrorResponse(500, {})],
    ['a 403 quota refusal', false, parseErrorResponse(403, { description: 'a quota has been reached' })],
    ['a 413', false, parseErrorResponse(413, {})],
    ['a 201 whose body could not be read', true, new UnexpectedResponseError('unexpected secret creation response')],
  ])('may %s have taken effect? %s', (_what, expected, failure) => {
    expect(mayHaveTakenEffect(describeHttpFailure(failure, 'Barbican', url, opts))).toBe(expected);
  });
});

describe('write journal and the naming of what a rollback left', () => {
  const unavailable = (cause: unknown) => describeHttpFailure(cause, 'Barbican', 'https://b.example:9311/v1/secrets', { timeoutMs: 1000 });

  it('records ids, and for a lost answer what identifies the object; a refused request records nothing', async () => {
    const j = new WriteJournal();
    await j.create('secret', 'p/ca/AB/cert', async () => 'id-1', { by: 'name' });
    await expect(
      j.create('secret', 'p/ca/AB/key', () => Promise.reject(unavailable(new TransportError('reset', 'ECONNRESET', true))), { by: 'name' }),
    ).rejects.toThrow(/ECONNRESET/);
    await expect(j.create('container', 'p/ca/ca', () => Promise.reject(unavailable(parseErrorResponse(502, {}))), { by: 'nothing' })).rejects.toThrow(/502/);
    await expect(
      j.create('secret', 'p/ca/inventory', () => Promise.reject(unavailable(new TransportError('r', 'ECONNRESET', true))), {
        by: 'name-and-payload',
        payload: '{"w":"n1"}',
        newest: 16,
      }),
    ).rejects.toThrow();
    await expect(
      j.create('secret', 'p/ca/CD/cert', () => Promise.reject(unavailable(new TransportError('refused', 'ECONNREFUSED', false))), { by: 'name' }),
    ).rejects.toThrow();
    expect(j.created).toEqual([
      { kind: 'secret', id: 'id-1' },
      { kind: 'secret', uncertainName: 'p/ca/AB/key' },
      { kind: 'unidentifiable', what: 'container named "p/ca/ca"' },
      { kind: 'secret', uncertainName: 'p/ca/inventory', payload: '{"w":"n1"}', newest: 16, recognise: undefined },
    ]);
  });

  it('names every object left behind with the command that deletes it', () => {
    const message = leftoverMessage('storing 2 certificates', [
      { kind: 'container', id: 'c-1' },
      { kind: 'secret', id: 's-1' },
      { kind: 'secret', uncertainName: 'p/ca/inventory', payload: 'x', recognise: 'whose payload holds "w":"abc"' },
      { kind: 'unidentifiable', what: 'container named "p/ca/ca"' },
    ]);
    expect(message).toBe(
      'while undoing storing 2 certificates, 4 objects could not be deleted — delete them: `openstack secret container delete c-1`; `openstack secret delete s-1`; ' +
        'the secret named "p/ca/inventory", the one whose payload holds "w":"abc", if Barbican created it (`openstack secret list --name "p/ca/inventory"`, then `openstack secret delete <id>`); ' +
        'container named "p/ca/ca", if Barbican created it (find it with `openstack secret container list --name`)',
    );
    expect(leftoverMessage('x', [{ kind: 'secret', id: 's' }])).toMatch(/1 object could not be deleted — delete it: /);
  });
});

describe('object names', () => {
  const names = new ObjectNames('cert+ctl.v1');
  it('finds the CA of a record name exactly, whatever characters the prefix has', () => {
    expect(names.caOfRecord('cert+ctl.v1/web/ca-record')).toBe('web');
    expect(names.caOfRecord('certxctl.v1/web/ca-record')).toBeUndefined();
    expect(names.caOfRecord('cert+ctl.v1/a/b/ca-record')).toBeUndefined();
    expect(names.caOfRecord('cert+ctl.v1/web/ca')).toBeUndefined();
  });
  it('labels a leaf container with serial and CN, trimmed to what Barbican keeps', () => {
    const record = { serial: 'AB', commonName: 'a\\b' } as never;
    expect(names.leafContainer('web', record)).toBe('cert+ctl.v1/web/AB ab');
    expect(names.leafContainer('web', { serial: 'AB', commonName: 'x'.repeat(300) } as never)).toHaveLength(255);
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
