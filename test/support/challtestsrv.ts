/**
 * pebble-challtestsrv (tools/install-challtestsrv.sh, pinned v2.10.3), started by one test file on
 * free loopback ports: the real DNS server of the ACME validation tests (its management API sets
 * TXT, A and AAAA answers) and an independent http-01 and tls-alpn-01 responder (Go's crypto/tls
 * and its own acmeIdentifier certificate). On a developer machine without it, the tests skip
 * loudly; under CI (CI set) a missing binary fails them: nothing may be skipped there.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { promises as dnsPromises } from 'node:dns';

const BIN = resolve(__dirname, '..', '..', '.cache', 'bin', 'pebble-challtestsrv');
const HOW_TO_INSTALL = 'install it with `bash tools/install-challtestsrv.sh` (tools/install-test-deps.sh does; needs Go and the Go module proxy)';

/** A running pebble-challtestsrv. */
export interface Challtestsrv {
  /** `127.0.0.1:PORT` of its DNS server (UDP and TCP), for ValidationSettings.dnsResolver. */
  dnsResolver: string;
  http01Port: number;
  tlsAlpn01Port: number;
  /** POSTs a JSON body to its management API (e.g. `/set-txt`, `/add-a`); throws unless it answers 200. */
  post(path: string, body: Record<string, unknown>): Promise<void>;
  /** Everything it printed, for a failing test's message. */
  output(): string;
  stop(): Promise<void>;
}

/** A port free on 127.0.0.1 now (the OS's next ephemeral one). */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}

async function waitUntilReady(srv: Challtestsrv, child: ChildProcess): Promise<void> {
  const [host, port] = srv.dnsResolver.split(':');
  const resolver = new dnsPromises.Resolver({ timeout: 200, tries: 1 });
  resolver.setServers([`${host}:${port}`]);
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) break;
    try {
      await srv.post('/set-default-ipv4', { ip: '127.0.0.1' });
      await resolver.resolve4('ready.challtestsrv.test');
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await srv.stop();
  throw new Error(`pebble-challtestsrv did not become ready:\n${srv.output()}`);
}

/** The installed binary, or undefined after a loud warning outside CI; under CI a missing binary throws. */
export function challtestsrvBinary(): string | undefined {
  if (existsSync(BIN)) return BIN;
  const why = `${join('.cache', 'bin', 'pebble-challtestsrv')} not found`;
  if (process.env.CI) throw new Error(`ACME validation tests cannot run under CI: ${why}; ${HOW_TO_INSTALL}`);
  console.warn(`\n*** SKIPPING pebble-challtestsrv tests: ${why}.\n*** ${HOW_TO_INSTALL}.\n`);
  return undefined;
}

/** Starts pebble-challtestsrv on free loopback ports (DoH and HTTPS HTTP-01 off) and waits until its DNS answers. */
export async function startChalltestsrv(bin: string): Promise<Challtestsrv> {
  const [dns, management, http01Port, tlsAlpn01Port] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const args = ['-dnsserver', `127.0.0.1:${dns}`, '-management', `127.0.0.1:${management}`, '-http01', `:${http01Port}`, '-tlsalpn01', `:${tlsAlpn01Port}`];
  const child = spawn(bin, [...args, '-https01', '', '-doh', ''], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const srv: Challtestsrv = {
    dnsResolver: `127.0.0.1:${dns}`,
    http01Port,
    tlsAlpn01Port,
    async post(path, body) {
      const res = await fetch(`http://127.0.0.1:${management}${path}`, { method: 'POST', body: JSON.stringify(body) });
      if (res.status !== 200) throw new Error(`pebble-challtestsrv ${path} answered ${res.status}: ${await res.text()}`);
    },
    output: () => log,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
  await waitUntilReady(srv, child);
  return srv;
}

/**
 * `describe` with a pebble-challtestsrv started before its tests and stopped after them (`srv()`
 * is it), or `describe.skip` after the loud warning when it is not installed outside CI.
 */
export function describeWithChalltestsrv(name: string, fn: (srv: () => Challtestsrv) => void): void {
  const bin = challtestsrvBinary();
  if (!bin) {
    describe.skip(name, () => it('needs pebble-challtestsrv', () => undefined));
    return;
  }
  describe(name, () => {
    let running: Challtestsrv | undefined;
    beforeAll(async () => {
      running = await startChalltestsrv(bin);
    }, 30000);
    afterAll(() => running?.stop());
    fn(() => {
      if (!running) throw new Error('pebble-challtestsrv did not start');
      return running;
    });
  });
}
