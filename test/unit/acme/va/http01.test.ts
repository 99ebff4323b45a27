/**
 * http-01 against real Node HTTP(S) servers on loopback, identified by IP address (no DNS): the
 * answer, the redirects RFC 8555 and issue #13 allow (same host, 80/443 or their stand-ins, at
 * most 10) and those refused, the body cap, refused connections and timeouts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { validateChallenge, type ChallengeToValidate } from '../../../../src/acme/va';
import { alpnCertificate, challenge, close, listen, settings } from '../../../support/acme-va';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A loopback HTTP server whose behaviour each test sets, recording every request's Host and path. */
class TestHttpServer {
  readonly seen: { host?: string; path?: string }[] = [];
  handler: Handler = (_req, res) => res.writeHead(404).end();
  readonly server: Server = createServer((req, res) => {
    this.seen.push({ host: req.headers.host, path: req.url });
    this.handler(req, res);
  });
  port = 0;

  async start(host: string): Promise<this> {
    this.port = await listen(this.server, host);
    return this;
  }
}

function redirect(res: ServerResponse, location: string, status = 302): void {
  res.writeHead(status, { location }).end();
}

const V4 = { type: 'ip', value: '127.0.0.1' } as const;
let http: TestHttpServer;
let https: { server: Server; port: number; seen: string[] };

beforeAll(async () => {
  http = await new TestHttpServer().start('127.0.0.1');
  const { cert, key } = await alpnCertificate({ sans: [V4] });
  const seen: string[] = [];
  const server = createHttpsServer({ cert, key }, (req, res) => {
    seen.push(req.url ?? '');
    res.end(req.url?.replace('/tls/', '') ?? '');
  });
  https = { server, port: await listen(server, '127.0.0.1'), seen };
});
afterAll(async () => {
  await close(http.server);
  await close(https.server);
});
beforeEach(() => {
  http.seen.length = 0;
  https.seen.length = 0;
});

const run = (ch: ChallengeToValidate, timeoutMs?: number) =>
  validateChallenge(ch, settings({ http01Port: http.port, tlsAlpn01Port: https.port, ...(timeoutMs ? { timeoutMs } : {}) }));

describe('http-01 answers', () => {
  it('accepts the key authorization with trailing whitespace, asked at the well-known path with the identifier as Host', async () => {
    const ch = challenge('http-01', V4);
    http.handler = (_req, res) => res.end(`${ch.keyAuthorization} \r\n\t`);
    const result = await run(ch);
    expect(result).toEqual({ ok: true, validatedAt: expect.any(Date), addressUsed: '127.0.0.1' });
    expect(http.seen).toEqual([{ host: `127.0.0.1:${http.port}`, path: `/.well-known/acme-challenge/${ch.token}` }]);
  });

  it('refuses another body as incorrectResponse, quoting what was expected and the start of what came', async () => {
    const ch = challenge('http-01', V4);
    http.handler = (_req, res) => res.end(`not it ${'x'.repeat(200)}`);
    const result = await run(ch);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problem.type).toBe('urn:ietf:params:acme:error:incorrectResponse');
    expect(result.problem.detail).toContain(`expected "${ch.keyAuthorization}" but got "not it xxx`);
    expect(result.problem.detail).toContain('(207 characters)');
    expect(result.problem.detail.length).toBeLessThan(400);
  });

  it('refuses leading whitespace (only trailing whitespace is ignored)', async () => {
    const ch = challenge('http-01', V4);
    http.handler = (_req, res) => res.end(` ${ch.keyAuthorization}`);
    expect(await run(ch)).toMatchObject({ ok: false, problem: { type: 'urn:ietf:params:acme:error:incorrectResponse' } });
  });

  it('refuses a 404 as unauthorized, naming the URL and the status', async () => {
    const ch = challenge('http-01', V4);
    http.handler = (_req, res) => res.writeHead(404).end(ch.keyAuthorization);
    const result = await run(ch);
    expect(result).toMatchObject({ ok: false, problem: { type: 'urn:ietf:params:acme:error:unauthorized' } });
    expect(!result.ok && result.problem.detail).toContain(`http://127.0.0.1:${http.port}/.well-known/acme-challenge/${ch.token} answered HTTP 404`);
  });

  it('refuses a body over 128 KiB', async () => {
    const ch = challenge('http-01', V4);
    http.handler = (_req, res) => res.end(Buffer.alloc(129 * 1024, 'a'));
    const result = await run(ch);
    expect(result).toMatchObject({ ok: false, problem: { type: 'urn:ietf:params:acme:error:unauthorized' } });
    expect(!result.ok && result.problem.detail).toContain('larger than 128 KiB');
  });

  it('resolves a name as the host does without a dns_resolver (/etc/hosts: localhost) and sends it as Host', async () => {
    const ch = challenge('http-01', { type: 'dns', value: 'localhost' });
    http.handler = (_req, res) => res.end(ch.keyAuthorization);
    expect(await run(ch)).toMatchObject({ ok: true, addressUsed: '127.0.0.1' });
    expect(http.seen).toEqual([{ host: `localhost:${http.port}`, path: `/.well-known/acme-challenge/${ch.token}` }]);
  });

  it('connects to an IPv6 identifier in brackets', async () => {
    const v6 = await new TestHttpServer().start('::1');
    try {
      const ch = challenge('http-01', { type: 'ip', value: '::1' });
      v6.handler = (_req, res) => res.end(ch.keyAuthorization);
      const result = await validateChallenge(ch, settings({ http01Port: v6.port }));
      expect(result).toMatchObject({ ok: true, addressUsed: '::1' });
      expect(v6.seen).toEqual([{ host: `[::1]:${v6.port}`, path: `/.well-known/acme-challenge/${ch.token}` }]);
    } finally {
      await close(v6.server);
    }
  });
});

describe('http-01 redirects', () => {
  it('follows redirects to other paths on the same host, relative and absolute', async () => {
    const ch = challenge('http-01', V4);
    http.handler = (req, res) => {
      if (req.url?.startsWith('/.well-known/')) return redirect(res, '/step-two', 301);
      if (req.url === '/step-two') return redirect(res, `http://127.0.0.1:${http.port}/final?x=1`, 307);
      res.end(ch.keyAuthorization);
    };
    expect(await run(ch)).toMatchObject({ ok: true });
    expect(http.seen.map((s) => s.path)).toEqual([`/.well-known/acme-challenge/${ch.token}`, '/step-two', '/final?x=1']);
  });

  it('follows a redirect to https on the tls-alpn-01 port (443 stand-in) without verifying its certificate', async () => {
    const ch = challenge('http-01', V4);
    http.handler = (_req, res) => redirect(res, `https://127.0.0.1:${https.port}/tls/${ch.keyAuthorization}`);
    expect(await run(ch)).toMatchObject({ ok: true, addressUsed: '127.0.0.1' });
    expect(https.seen).toEqual([`/tls/${ch.keyAuthorization}`]);
  });

  it('follows 10 redirects and refuses the 11th, having asked 11 times', async () => {
    const ch = challenge('http-01', V4);
    const hops =
      (limit: number): typeof http.handler =>
      (req, res) => {
        const n = Number(/\/hop\/(\d+)$/.exec(req.url ?? '')?.[1] ?? 0);
        if (n < limit) return redirect(res, `/hop/${n + 1}`);
        res.end(ch.keyAuthorization);
      };
    http.handler = hops(10);
    expect(await run(ch)).toMatchObject({ ok: true });
    expect(http.seen).toHaveLength(11);

    http.seen.length = 0;
    http.handler = hops(11);
    const result = await run(ch);
    expect(result).toMatchObject({ ok: false, problem: { type: 'urn:ietf:params:acme:error:unauthorized' } });
    expect(!result.ok && result.problem.detail).toContain('more than 10 redirects');
    expect(http.seen).toHaveLength(11);
  });

  it('refuses a redirect to another host, even one that resolves to the same address, and never connects there', async () => {
    const ch = challenge('http-01', V4);
    http.handler = (req, res) => (req.url === '/elsewhere' ? res.end(ch.keyAuthorization) : redirect(res, `http://localhost:${http.port}/elsewhere`));
    const result = await run(ch);
    expect(result).toMatchObject({ ok: false, problem: { type: 'urn:ietf:params:acme:error:unauthorized' } });
    expect(!result.ok && result.problem.detail).toContain('refused: validation of 127.0.0.1 stays on that host');
    expect(http.seen.map((s) => s.path)).toEqual([`/.well-known/acme-challenge/${ch.token}`]);
  });

  it.each([
    ['port 8080', 'http://127.0.0.1:8080/x', 'http is followed to port 80 or'],
    ['https on the http-01 port', 'https://127.0.0.1:HTTP_PORT/x', 'https is followed to port 443 or'],
    ['another scheme', 'ftp://127.0.0.1/x', 'only http and https are followed'],
    ['another address written in decimal', 'http://2130706434/x', 'stays on that host'],
  ])('refuses a redirect to %s', async (_what, location, why) => {
    const ch = challenge('http-01', V4);
    http.handler = (_req, res) => redirect(res, location.replace('HTTP_PORT', String(http.port)));
    const result = await run(ch);
    expect(result).toMatchObject({ ok: false, problem: { type: 'urn:ietf:params:acme:error:unauthorized' } });
    expect(!result.ok && result.problem.detail).toContain(why);
    expect(http.seen).toHaveLength(1);
  });

  it('refuses a redirect without a Location', async () => {
    const ch = challenge('http-01', V4);
    http.handler = (_req, res) => res.writeHead(302).end();
    const result = await run(ch);
    expect(!result.ok && result.problem.detail).toContain('redirect without a Location');
  });
});

describe('http-01 connection failures', () => {
  it('reports a refused connection with the address and port', async () => {
    const closed = await new TestHttpServer().start('127.0.0.1');
    await close(closed.server);
    const result = await validateChallenge(challenge('http-01', V4), settings({ http01Port: closed.port }));
    expect(result).toEqual({ ok: false, problem: { type: 'urn:ietf:params:acme:error:connection', detail: `connection refused at 127.0.0.1:${closed.port}` } });
  });

  it('gives up on a server that never answers within timeoutMs', async () => {
    http.handler = () => undefined;
    const result = await run(challenge('http-01', V4), 300);
    expect(result).toMatchObject({ ok: false, problem: { type: 'urn:ietf:params:acme:error:connection' } });
    expect(!result.ok && result.problem.detail).toContain(`timeout waiting for 127.0.0.1:${http.port}`);
  });

  it('never connects to a link-local identifier (cloud metadata addresses)', async () => {
    const result = await validateChallenge(challenge('http-01', { type: 'ip', value: '169.254.169.254' }), settings());
    expect(result).toMatchObject({ ok: false, problem: { type: 'urn:ietf:params:acme:error:rejectedIdentifier' } });
  });
});
