/**
 * tls-alpn-01 against a real Node TLS server on loopback that offers acme-tls/1 and presents a
 * certificate each test makes with @peculiar/x509: what RFC 8737 / RFC 8738 accept (one SAN of
 * the identifier, a critical acmeIdentifier holding SHA-256 of the key authorization) and what
 * they refuse, the SNI and ALPN the validation sends, and handshake failures.
 */
import { createServer as createTcpServer, type Server } from 'node:net';
import { createSecureContext, createServer, type TlsOptions } from 'node:tls';
import { validateChallenge, type ChallengeToValidate } from '../../../../src/acme/va';
import { alpnCertificate, challenge, close, listen, settings, validAlpnSpec, type AlpnCertificateSpec } from '../../../support/acme-va';

/** A TLS server whose certificate each test sets, recording the SNI and ALPN protocol of each handshake. */
class TestTlsServer {
  /** The SNI of each handshake. */
  readonly servernames: string[] = [];
  /** The ALPN protocols offered in each handshake (an ALPN server only). */
  readonly offered: string[][] = [];
  credentials: { cert: string; key: string } = { cert: '', key: '' };
  server: Server;
  port = 0;

  /** `alpn`: answer acme-tls/1 when the client offers it (recording what it offered), or negotiate no ALPN at all. */
  constructor(alpn: boolean) {
    const options: TlsOptions = {
      SNICallback: (servername, cb) => {
        this.servernames.push(servername);
        cb(null, createSecureContext(this.credentials));
      },
    };
    if (alpn) {
      options.ALPNCallback = ({ protocols }) => {
        this.offered.push(protocols);
        return protocols.includes('acme-tls/1') ? 'acme-tls/1' : undefined;
      };
    }
    this.server = createServer(options, (socket) => socket.resume().end());
    this.server.on('tlsClientError', () => undefined);
  }

  async start(host: string): Promise<this> {
    this.port = await listen(this.server, host);
    return this;
  }
}

const V4 = { type: 'ip', value: '127.0.0.1' } as const;
let acme: TestTlsServer;

beforeAll(async () => {
  acme = await new TestTlsServer(true).start('127.0.0.1');
});
afterAll(() => close(acme.server));
beforeEach(() => {
  acme.servernames.length = 0;
  acme.offered.length = 0;
});

async function presenting(spec: (ch: ChallengeToValidate) => AlpnCertificateSpec, server = acme, identifier: ChallengeToValidate['identifier'] = V4) {
  const ch = challenge('tls-alpn-01', identifier);
  server.credentials = await alpnCertificate(spec(ch));
  return validateChallenge(ch, settings({ tlsAlpn01Port: server.port }));
}

function incorrect(detail: string) {
  return { ok: false, problem: { type: 'urn:ietf:params:acme:error:incorrectResponse', detail: expect.stringContaining(detail) } };
}

describe('tls-alpn-01 certificates', () => {
  it('accepts the RFC 8737 certificate for an IPv4 address, asked with its reverse-DNS SNI and acme-tls/1', async () => {
    expect(await presenting(validAlpnSpec)).toEqual({ ok: true, validatedAt: expect.any(Date), addressUsed: '127.0.0.1' });
    expect(acme.servernames).toEqual(['1.0.0.127.in-addr.arpa']);
    expect(acme.offered).toEqual([['acme-tls/1']]);
  });

  it('accepts one for an IPv6 address, asked with its ip6.arpa SNI', async () => {
    const v6 = await new TestTlsServer(true).start('::1');
    try {
      expect(await presenting(validAlpnSpec, v6, { type: 'ip', value: '::1' })).toMatchObject({ ok: true, addressUsed: '::1' });
      expect(v6.servernames).toEqual([`1.${'0.'.repeat(31)}ip6.arpa`]);
      expect(v6.offered).toEqual([['acme-tls/1']]);
    } finally {
      await close(v6.server);
    }
  });

  it('refuses an acmeIdentifier extension that is not critical', async () => {
    const result = await presenting((ch) => ({ ...validAlpnSpec(ch), acme: { critical: false, keyAuthorization: ch.keyAuthorization } }));
    expect(result).toEqual(incorrect(`certificate from 127.0.0.1:${acme.port} has an acmeIdentifier extension that is not critical`));
  });

  it('refuses the digest of another key authorization', async () => {
    const other = challenge('tls-alpn-01', V4).keyAuthorization;
    const result = await presenting((ch) => ({ ...validAlpnSpec(ch), acme: { critical: true, keyAuthorization: other } }));
    expect(result).toEqual(incorrect('acmeIdentifier that is not the SHA-256 of the key authorization'));
  });

  it('refuses a certificate without the acmeIdentifier extension', async () => {
    expect(await presenting((ch) => ({ sans: [ch.identifier] }))).toEqual(incorrect('has 0 acmeIdentifier extensions'));
  });

  it.each([
    ['not an OCTET STRING', Buffer.from([0x0c, 0x02, 0x68, 0x69])],
    ['an OCTET STRING of 31 bytes', Buffer.concat([Buffer.from([0x04, 31]), Buffer.alloc(31)])],
    ['an OCTET STRING followed by more', Buffer.concat([Buffer.from([0x04, 32]), Buffer.alloc(32), Buffer.from([0x05, 0x00])])],
  ])('refuses an acmeIdentifier value that is %s', async (_what, value) => {
    const result = await presenting((ch) => ({ ...validAlpnSpec(ch), acme: { critical: true, keyAuthorization: ch.keyAuthorization, value } }));
    expect(result).toEqual(incorrect('not an OCTET STRING of 32 bytes'));
  });

  it.each([
    ['a dNSName for an IP identifier', [{ type: 'dns', value: '127.0.0.1.example' }]],
    ['another IP address', [{ type: 'ip', value: '127.0.0.2' }]],
    ['a second name besides the identifier', [V4, { type: 'ip', value: '127.0.0.2' }]],
  ] as const)('refuses a subjectAltName with %s', async (_what, sans) => {
    const result = await presenting((ch) => ({ ...validAlpnSpec(ch), sans: [...sans] }));
    expect(result).toEqual(incorrect('does not have exactly one subjectAltName, the iPAddress 127.0.0.1'));
  });
});

describe('tls-alpn-01 handshakes', () => {
  it('refuses a server that does not negotiate acme-tls/1', async () => {
    const plain = await new TestTlsServer(false).start('127.0.0.1');
    try {
      const result = await presenting(validAlpnSpec, plain);
      expect(result).toMatchObject({ ok: false, problem: { type: 'urn:ietf:params:acme:error:unauthorized' } });
      expect(!result.ok && result.problem.detail).toBe(`127.0.0.1:${plain.port} did not negotiate the ALPN protocol acme-tls/1 (got none)`);
    } finally {
      await close(plain.server);
    }
  });

  it('reports a server that speaks no TLS as a tls problem', async () => {
    // resume(): a paused socket would never read the client's FIN, and close() would wait for it.
    const notTls = createTcpServer((socket) => socket.resume().end('HTTP/1.1 400 Bad Request\r\n\r\n'));
    const port = await listen(notTls, '127.0.0.1');
    try {
      const result = await validateChallenge(challenge('tls-alpn-01', V4), settings({ tlsAlpn01Port: port }));
      expect(result).toMatchObject({ ok: false, problem: { type: 'urn:ietf:params:acme:error:tls' } });
      expect(!result.ok && result.problem.detail).toContain(`TLS handshake with 127.0.0.1:${port} failed`);
    } finally {
      await close(notTls);
    }
  });

  it('gives up on a server that never completes the handshake within timeoutMs', async () => {
    const silent = createTcpServer((socket) => socket.resume());
    const port = await listen(silent, '127.0.0.1');
    try {
      const result = await validateChallenge(challenge('tls-alpn-01', V4), settings({ tlsAlpn01Port: port, timeoutMs: 300 }));
      expect(result).toEqual({
        ok: false,
        problem: { type: 'urn:ietf:params:acme:error:connection', detail: `timeout after 300 ms waiting for a TLS handshake with 127.0.0.1:${port}` },
      });
    } finally {
      await close(silent);
    }
  });
});
