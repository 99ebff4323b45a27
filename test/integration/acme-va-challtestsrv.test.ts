/**
 * The ACME validation authority with pebble-challtestsrv v2.10.3 as the real DNS server (its
 * management API sets TXT, A and AAAA answers; ValidationSettings.dnsResolver points at it) and
 * as an independent http-01 and tls-alpn-01 responder (Go's net/http and crypto/tls, its own
 * acmeIdentifier certificate): dns-01, names resolved to their own addresses (IPv6 first, IPv4
 * when IPv6 cannot be connected to, refused addresses never connected to), and both responders.
 */
import { createServer, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import { validateChallenge, dns01TxtValue, type ValidationResult } from '../../src/acme/va';
import { challenge, close, listen, settings } from '../support/acme-va';
import { describeWithChalltestsrv } from '../support/challtestsrv';

/** A fresh name under .test, so no test sees another's mocked records. */
const freshName = (label = 'va') => `${label}-${randomBytes(4).toString('hex')}.test`;
const problem = (result: ValidationResult) => (result.ok ? undefined : result.problem);

describeWithChalltestsrv('ACME validation with pebble-challtestsrv', (srv) => {
  const dnsSettings = (overrides = {}) => settings({ dnsResolver: srv().dnsResolver, ...overrides });

  describe('dns-01', () => {
    it('accepts the TXT record base64url(SHA-256(key authorization)) among others', async () => {
      const name = freshName();
      const ch = challenge('dns-01', { type: 'dns', value: name });
      await srv().post('/set-txt', { host: `_acme-challenge.${name}`, value: 'an unrelated record' });
      await srv().post('/set-txt', { host: `_acme-challenge.${name}`, value: dns01TxtValue(ch.keyAuthorization) });
      expect(await validateChallenge(ch, dnsSettings())).toEqual({ ok: true, validatedAt: expect.any(Date) });
    });

    it('looks a wildcard up at the base name', async () => {
      const base = freshName();
      const ch = challenge('dns-01', { type: 'dns', value: `*.${base}` });
      await srv().post('/set-txt', { host: `_acme-challenge.${base}`, value: dns01TxtValue(ch.keyAuthorization) });
      expect(await validateChallenge(ch, dnsSettings())).toMatchObject({ ok: true });
    });

    it('refuses another value as incorrectResponse, quoting what it found', async () => {
      const name = freshName();
      const ch = challenge('dns-01', { type: 'dns', value: name });
      await srv().post('/set-txt', { host: `_acme-challenge.${name}`, value: dns01TxtValue(`${ch.keyAuthorization}x`) });
      const p = problem(await validateChallenge(ch, dnsSettings()));
      expect(p?.type).toBe('urn:ietf:params:acme:error:incorrectResponse');
      expect(p?.detail).toContain(
        `no TXT record at _acme-challenge.${name} is "${dns01TxtValue(ch.keyAuthorization)}": found "${dns01TxtValue(`${ch.keyAuthorization}x`)}"`,
      );
    });

    it('refuses a name without a TXT record as unauthorized', async () => {
      const name = freshName();
      expect(await validateChallenge(challenge('dns-01', { type: 'dns', value: name }), dnsSettings())).toEqual({
        ok: false,
        problem: { type: 'urn:ietf:params:acme:error:unauthorized', detail: `no TXT record found at _acme-challenge.${name}` },
      });
    });

    it('reports a SERVFAIL as a dns problem', async () => {
      const name = freshName();
      await srv().post('/set-servfail', { host: `_acme-challenge.${name}` });
      expect(problem(await validateChallenge(challenge('dns-01', { type: 'dns', value: name }), dnsSettings()))).toEqual({
        type: 'urn:ietf:params:acme:error:dns',
        detail: `DNS problem: SERVFAIL looking up TXT for _acme-challenge.${name}`,
      });
    });
  });

  describe('http-01 to a name', () => {
    let v4: Server;
    let v6: Server | undefined;
    let port = 0;
    const answers = { v4: '', v6: '' };
    const hosts: string[] = [];

    beforeAll(async () => {
      v4 = createServer((req, res) => {
        hosts.push(req.headers.host ?? '');
        res.end(answers.v4);
      });
      port = await listen(v4, '127.0.0.1');
    });
    afterAll(async () => {
      await close(v4);
      if (v6) await close(v6);
    });
    beforeEach(() => (hosts.length = 0));

    it('connects to its IPv4 address when its IPv6 address refuses, with the name as Host', async () => {
      const name = freshName();
      const ch = challenge('http-01', { type: 'dns', value: name });
      answers.v4 = ch.keyAuthorization;
      // challtestsrv answers AAAA ::1 and A 127.0.0.1 for any name; nothing listens on [::1]:port.
      expect(await validateChallenge(ch, dnsSettings({ http01Port: port }))).toMatchObject({ ok: true, addressUsed: '127.0.0.1' });
      expect(hosts).toEqual([`${name}:${port}`]);
    });

    it('prefers its IPv6 address when that answers', async () => {
      v6 = createServer((_req, res) => res.end(answers.v6));
      await new Promise<void>((resolve, reject) => v6?.once('error', reject).listen(port, '::1', () => resolve()));
      const ch = challenge('http-01', { type: 'dns', value: freshName() });
      answers.v6 = ch.keyAuthorization;
      answers.v4 = 'the IPv4 server is not asked';
      expect(await validateChallenge(ch, dnsSettings({ http01Port: port }))).toMatchObject({ ok: true, addressUsed: '::1' });
      expect(hosts).toEqual([]);
    });

    it('never connects to a name that resolves only to link-local addresses', async () => {
      const name = freshName();
      await srv().post('/add-a', { host: name, addresses: ['169.254.169.254'] });
      await srv().post('/add-aaaa', { host: name, addresses: ['fe80::1'] });
      expect(problem(await validateChallenge(challenge('http-01', { type: 'dns', value: name }), dnsSettings({ http01Port: port })))).toEqual({
        type: 'urn:ietf:params:acme:error:dns',
        detail: `${name} resolves only to addresses validation does not connect to: fe80::1 (link-local), 169.254.169.254 (link-local)`,
      });
      expect(hosts).toEqual([]);
    });

    it('reports a name without addresses as a dns problem', async () => {
      const name = freshName();
      await srv().post('/set-default-ipv4', { ip: '' });
      await srv().post('/set-default-ipv6', { ip: '' });
      try {
        expect(problem(await validateChallenge(challenge('http-01', { type: 'dns', value: name }), dnsSettings({ http01Port: port })))).toEqual({
          type: 'urn:ietf:params:acme:error:dns',
          detail: `DNS problem: no A or AAAA record for ${name}`,
        });
      } finally {
        await srv().post('/set-default-ipv4', { ip: '127.0.0.1' });
        await srv().post('/set-default-ipv6', { ip: '::1' });
      }
    });
  });

  describe('pebble-challtestsrv as the responder', () => {
    it('validates http-01 against its HTTP server', async () => {
      const ch = challenge('http-01', { type: 'dns', value: freshName() });
      await srv().post('/add-http01', { token: ch.token, content: ch.keyAuthorization });
      expect(await validateChallenge(ch, dnsSettings({ http01Port: srv().http01Port }))).toMatchObject({ ok: true });
    });

    it('refuses its redirect to another host', async () => {
      const ch = challenge('http-01', { type: 'dns', value: freshName() });
      const other = freshName('other');
      await srv().post('/add-redirect', { path: `/.well-known/acme-challenge/${ch.token}`, targetURL: `http://${other}:${srv().http01Port}/x` });
      const p = problem(await validateChallenge(ch, dnsSettings({ http01Port: srv().http01Port })));
      expect(p?.type).toBe('urn:ietf:params:acme:error:unauthorized');
      expect(p?.detail).toContain(`redirect to "http://${other}:${srv().http01Port}/x" refused: validation of ${ch.identifier.value} stays on that host`);
    });

    it('validates tls-alpn-01 against its acme-tls/1 server and certificate', async () => {
      const ch = challenge('tls-alpn-01', { type: 'dns', value: freshName() });
      await srv().post('/add-tlsalpn01', { host: ch.identifier.value, content: ch.keyAuthorization });
      expect(await validateChallenge(ch, dnsSettings({ tlsAlpn01Port: srv().tlsAlpn01Port }))).toMatchObject({ ok: true });
    });

    it('refuses its certificate for another key authorization', async () => {
      const ch = challenge('tls-alpn-01', { type: 'dns', value: freshName() });
      await srv().post('/add-tlsalpn01', { host: ch.identifier.value, content: `${ch.keyAuthorization}x` });
      const p = problem(await validateChallenge(ch, dnsSettings({ tlsAlpn01Port: srv().tlsAlpn01Port })));
      expect(p?.type).toBe('urn:ietf:params:acme:error:incorrectResponse');
      expect(p?.detail).toContain('acmeIdentifier that is not the SHA-256 of the key authorization');
    });
  });
});
