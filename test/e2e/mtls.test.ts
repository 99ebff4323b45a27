/**
 * End to end: certificates from the built CLI used for real mutual TLS, checked by
 * OpenSSL's verifier, a node:tls server/client pair, and `openssl s_server` + curl.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { freePort } from '../support/tls-check';
import { run, tempDir, type CliResult, requireTool, requireBuiltCli, ok } from '../support/cli';

jest.setTimeout(120000);

/** Fails with a clear message (instead of a bare ENOENT) when a required tool is missing. */

/** Runs certctl and fails the test with its stderr when it does not exit 0. */

interface Creds {
  cert: string;
  key: string;
}

function creds(dir: string, cert = 'cert.pem', key = 'key.pem'): Creds {
  return { cert: readFileSync(join(dir, cert), 'utf8'), key: readFileSync(join(dir, key), 'utf8') };
}

/** A node:tls server that demands a client certificate and answers with the peer's CN. */
interface MtlsServer {
  port: number;
  handshakeErrors: Error[];
  close(): Promise<void>;
}

function startMtlsServer(server: Creds, ca: string): Promise<MtlsServer> {
  const handshakeErrors: Error[] = [];
  const srv = tls.createServer({ cert: server.cert, key: server.key, ca, requestCert: true, rejectUnauthorized: true }, (socket) => {
    const peer = socket.getPeerCertificate();
    socket.end(JSON.stringify({ authorized: socket.authorized, cn: peer.subject?.CN ?? null }));
  });
  // A certificate from an unknown CA completes the TLS handshake and is refused just
  // after it (node verifies the peer then destroys the socket), so the reason is in
  // the socket's authorizationError rather than in the error's message.
  srv.on('tlsClientError', (err, socket) => {
    const reason = (socket as tls.TLSSocket & { authorizationError?: string }).authorizationError;
    handshakeErrors.push(reason ? new Error(`${err.message} (${reason})`) : err);
  });
  return new Promise((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      resolve({
        port: (srv.address() as AddressInfo).port,
        handshakeErrors,
        close: () => new Promise<void>((res) => srv.close(() => res())),
      });
    });
  });
}

interface ClientOutcome {
  ok: boolean;
  body?: { authorized: boolean; cn: string | null };
  error?: string;
}

/**
 * Connects, and resolves ok only when the server's answer arrives. With TLS 1.3 the
 * client's handshake can "complete" before the server rejects its certificate, so
 * success is judged on the application data, not on 'secureConnect'.
 */
function connectClient(port: number, opts: tls.ConnectionOptions): Promise<ClientOutcome> {
  return new Promise((resolve) => {
    let data = '';
    let settled = false;
    const done = (o: ClientOutcome) => {
      if (!settled) {
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        resolve(o);
      }
    };
    const socket = tls.connect({ host: '127.0.0.1', port, ...opts });
    const timer = setTimeout(() => done({ ok: false, error: 'timeout' }), 15000);
    socket.setEncoding('utf8');
    socket.on('data', (d) => (data += d));
    socket.on('end', () => {
      if (!data) return done({ ok: false, error: 'connection closed without a response' });
      try {
        done({ ok: true, body: JSON.parse(data) });
      } catch {
        done({ ok: false, error: `unparsable response ${data}` });
      }
    });
    socket.on('close', () => done({ ok: false, error: 'connection closed without a response' }));
    socket.on('error', (e) => done({ ok: false, error: e.message }));
  });
}

/** Starts `openssl s_server` and resolves once it prints ACCEPT (it is listening). */
function startSServer(args: string[], cwd: string): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn('openssl', ['s_server', ...args], { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`openssl s_server did not start listening within 15 s:\n${out}`));
    }, 15000);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (out.includes('ACCEPT')) {
        clearTimeout(timer);
        resolve(child);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot run openssl s_server: ${e.message}`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`openssl s_server exited (${code}) before listening:\n${out}`));
    });
  });
}

function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 3000).unref();
  });
}

describe('mutual TLS with certctl certificates', () => {
  let dir: string;
  let cleanup: () => void;
  let otherDir: string;
  let otherCleanup: () => void;
  let ca: string;

  beforeAll(() => {
    requireBuiltCli();
    requireTool('openssl', ['version']);
    requireTool('curl', ['--version']);
    ({ dir, cleanup } = tempDir('certctl-e2e-mtls-'));
    ({ dir: otherDir, cleanup: otherCleanup } = tempDir('certctl-e2e-mtls-other-'));

    ok(dir, ['init', '--cn', 'certctl e2e mTLS root']);
    ok(dir, ['issue', 'server', '--cn', 'localhost', '--dns', 'localhost', '--ip', '127.0.0.1', '--out', 'server']);
    ok(dir, ['issue', 'client', '--cn', 'alice', '--out', 'client']);
    ca = readFileSync(join(dir, 'server', 'ca.pem'), 'utf8');

    // A second, unrelated certctl CA whose client certificate must be refused.
    ok(otherDir, ['init', '--cn', 'certctl e2e other root']);
    ok(otherDir, ['issue', 'client', '--cn', 'mallory', '--out', 'client']);
  });

  afterAll(() => {
    cleanup?.();
    otherCleanup?.();
  });

  describe('openssl verify', () => {
    test('accepts the server certificate for TLS server use', () => {
      const r = run('openssl', ['verify', '-CAfile', 'server/ca.pem', '-purpose', 'sslserver', 'server/cert.pem'], { cwd: dir });
      expect(r.stderr).toBe('');
      expect(r.stdout.trim()).toBe('server/cert.pem: OK');
      expect(r.status).toBe(0);
    });

    test('accepts the client certificate for TLS client use', () => {
      const r = run('openssl', ['verify', '-CAfile', 'client/ca.pem', '-purpose', 'sslclient', 'client/cert.pem'], { cwd: dir });
      expect(r.stdout.trim()).toBe('client/cert.pem: OK');
      expect(r.status).toBe(0);
    });

    test('the server certificate names localhost and 127.0.0.1', () => {
      const host = run('openssl', ['verify', '-CAfile', 'server/ca.pem', '-verify_hostname', 'localhost', 'server/cert.pem'], { cwd: dir });
      expect(host.status).toBe(0);
      const ip = run('openssl', ['verify', '-CAfile', 'server/ca.pem', '-verify_ip', '127.0.0.1', 'server/cert.pem'], { cwd: dir });
      expect(ip.status).toBe(0);
      const wrong = run('openssl', ['verify', '-CAfile', 'server/ca.pem', '-verify_hostname', 'example.org', 'server/cert.pem'], { cwd: dir });
      expect(wrong.status).not.toBe(0);
    });

    test('the EKUs keep the profiles apart: a client cert is not a TLS server cert', () => {
      const r = run('openssl', ['verify', '-CAfile', 'client/ca.pem', '-purpose', 'sslserver', 'client/cert.pem'], { cwd: dir });
      expect(r.status).not.toBe(0);
      expect(r.stdout + r.stderr).toMatch(/unsuitable certificate purpose/);
    });

    test('a certificate from another certctl CA does not verify', () => {
      const r = run('openssl', ['verify', '-CAfile', join(dir, 'client', 'ca.pem'), join(otherDir, 'client', 'cert.pem')]);
      expect(r.status).not.toBe(0);
      expect(r.stdout + r.stderr).toMatch(/unable to get local issuer certificate/);
    });
  });

  describe('node:tls server requiring client certificates', () => {
    let server: MtlsServer;

    beforeAll(async () => {
      server = await startMtlsServer(creds(join(dir, 'server')), ca);
    });

    afterAll(async () => {
      await server?.close();
    });

    test('(a) a client with the issued client certificate connects and is identified by CN', async () => {
      const before = server.handshakeErrors.length;
      // servername localhost: the client checks the DNS SAN of the server certificate.
      const o = await connectClient(server.port, { servername: 'localhost', ca, ...creds(join(dir, 'client')) });
      expect(o.error).toBeUndefined();
      expect(o.ok).toBe(true);
      expect(o.body).toEqual({ authorized: true, cn: 'alice' });
      expect(server.handshakeErrors.length).toBe(before);
    });

    test('(a) the client also accepts the server by its IP SAN', async () => {
      const o = await connectClient(server.port, { ca, ...creds(join(dir, 'client')) });
      expect(o.error).toBeUndefined();
      expect(o.body?.cn).toBe('alice');
    });

    test('(b) a client without a certificate is refused', async () => {
      const before = server.handshakeErrors.length;
      const o = await connectClient(server.port, { servername: 'localhost', ca });
      expect(o.ok).toBe(false);
      expect(o.body).toBeUndefined();
      // The server saw (and refused) the handshake.
      await waitFor(() => server.handshakeErrors.length > before);
      expect(
        server.handshakeErrors
          .slice(before)
          .map((e) => e.message)
          .join('\n'),
      ).toMatch(/certificate/i);
    });

    test('(c) a client certificate from another certctl CA is refused', async () => {
      const before = server.handshakeErrors.length;
      const o = await connectClient(server.port, { servername: 'localhost', ca, ...creds(join(otherDir, 'client')) });
      expect(o.ok).toBe(false);
      expect(o.body).toBeUndefined();
      await waitFor(() => server.handshakeErrors.length > before);
      expect(
        server.handshakeErrors
          .slice(before)
          .map((e) => e.message)
          .join('\n'),
      ).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT/);
    });

    test('a client that does not trust the CA refuses the server', async () => {
      const otherCa = readFileSync(join(otherDir, 'client', 'ca.pem'), 'utf8');
      const o = await connectClient(server.port, { servername: 'localhost', ca: otherCa, ...creds(join(dir, 'client')) });
      expect(o.ok).toBe(false);
      expect(o.error).toMatch(/issuer|self.signed|certificate/i);
    });
  });

  describe('every key type in a real handshake', () => {
    test.each(['ec-p256', 'ec-p384', 'rsa-2048', 'rsa-3072', 'ed25519'])('%s server and client certificates', async (keyType) => {
      ok(dir, ['issue', 'server', '--cn', 'localhost', '--dns', 'localhost', '--key-type', keyType, '--out', `kt-${keyType}/server`]);
      ok(dir, ['issue', 'client', '--cn', `client-${keyType}`, '--key-type', keyType, '--out', `kt-${keyType}/client`]);
      const server = await startMtlsServer(creds(join(dir, `kt-${keyType}`, 'server')), ca);
      try {
        const o = await connectClient(server.port, { servername: 'localhost', ca, ...creds(join(dir, `kt-${keyType}`, 'client')) });
        expect(o.error).toBeUndefined();
        expect(o.body).toEqual({ authorized: true, cn: `client-${keyType}` });
      } finally {
        await server.close();
      }
    });
  });

  describe('openssl s_server + curl', () => {
    let child: ChildProcess | undefined;
    let port: number;

    beforeAll(async () => {
      // -verify_return_error: without it s_server logs client-verification errors but
      // carries on, so a certificate from a foreign CA would be accepted.
      for (let attempt = 0; attempt < 3 && !child; attempt++) {
        port = await freePort();
        try {
          child = await startSServer(
            [
              '-Verify',
              '1',
              '-verify_return_error',
              '-cert',
              'server/cert.pem',
              '-key',
              'server/key.pem',
              '-CAfile',
              'server/ca.pem',
              '-www',
              '-accept',
              `127.0.0.1:${port}`,
            ],
            dir,
          );
        } catch (e) {
          if (attempt === 2) throw e; // the free port may have been taken in between: retry
        }
      }
    });

    afterAll(async () => {
      await stopChild(child);
    });

    function curl(extra: string[]): CliResult {
      return run(
        'curl',
        [
          '-sS',
          '--max-time',
          '15',
          '-o',
          '/dev/null',
          '-w',
          '%{http_code}',
          '--resolve',
          `localhost:${port}:127.0.0.1`,
          '--cacert',
          'server/ca.pem',
          ...extra,
          `https://localhost:${port}/`,
        ],
        { cwd: dir, timeout: 30000 },
      );
    }

    test('curl with the client certificate gets HTTP 200', () => {
      const r = curl(['--cert', 'client/cert.pem', '--key', 'client/key.pem']);
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe('200');
      expect(r.status).toBe(0);
    });

    test('curl without a client certificate fails', () => {
      const r = curl([]);
      expect(r.status).not.toBe(0);
      expect(r.stdout).not.toBe('200');
    });

    test('curl with a client certificate from another CA fails', () => {
      const r = curl(['--cert', join(otherDir, 'client', 'cert.pem'), '--key', join(otherDir, 'client', 'key.pem')]);
      expect(r.status).not.toBe(0);
      expect(r.stdout).not.toBe('200');
    });

    test('s_server is still serving valid clients after the refusals', () => {
      const r = curl(['--cert', 'client/cert.pem', '--key', 'client/key.pem']);
      expect(r.stdout).toBe('200');
    });
  });

  describe('intermediate CA', () => {
    beforeAll(() => {
      ok(dir, ['--ca', 'inter', 'init', '--cn', 'certctl e2e intermediate', '--parent', 'default']);
      ok(dir, ['--ca', 'inter', 'issue', 'server', '--cn', 'localhost', '--dns', 'localhost', '--ip', '127.0.0.1', '--out', 'inter-server']);
      ok(dir, ['--ca', 'inter', 'issue', 'client', '--cn', 'bob', '--out', 'inter-client']);
    });

    test('ca.pem is the root and chain.pem is leaf + intermediate', () => {
      const subj = (file: string) => run('openssl', ['x509', '-in', file, '-noout', '-subject', '-nameopt', 'RFC2253'], { cwd: dir }).stdout.trim();
      expect(subj('inter-server/ca.pem')).toBe('subject=CN=certctl e2e mTLS root');
      const chain = readFileSync(join(dir, 'inter-server', 'chain.pem'), 'utf8');
      const blocks = chain.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
      expect(blocks).toHaveLength(2);
      expect(blocks[0]).toBe(readFileSync(join(dir, 'inter-server', 'cert.pem'), 'utf8').trim());
      const inter = new X509Certificate(blocks[1]);
      expect(inter.subject).toBe('CN=certctl e2e intermediate');
      expect(inter.ca).toBe(true);
    });

    test('openssl verify -CAfile root -untrusted chain accepts the leaf', () => {
      const r = run(
        'openssl',
        ['verify', '-CAfile', 'inter-server/ca.pem', '-untrusted', 'inter-server/chain.pem', '-purpose', 'sslserver', 'inter-server/cert.pem'],
        { cwd: dir },
      );
      expect(r.stdout.trim()).toBe('inter-server/cert.pem: OK');
      expect(r.status).toBe(0);
    });

    test('the leaf does not verify against the root without the intermediate', () => {
      const r = run('openssl', ['verify', '-CAfile', 'inter-server/ca.pem', 'inter-server/cert.pem'], { cwd: dir });
      expect(r.status).not.toBe(0);
    });

    test('mutual TLS through the intermediate: server sends its chain, both sides trust only the root', async () => {
      const chainCreds = creds(join(dir, 'inter-server'), 'chain.pem', 'key.pem');
      const server = await startMtlsServer(chainCreds, ca);
      try {
        // The client presents leaf + intermediate too (chain.pem as its cert).
        const o = await connectClient(server.port, { servername: 'localhost', ca, ...creds(join(dir, 'inter-client'), 'chain.pem', 'key.pem') });
        expect(o.error).toBeUndefined();
        expect(o.body).toEqual({ authorized: true, cn: 'bob' });
      } finally {
        await server.close();
      }
    });
  });
});

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
}
