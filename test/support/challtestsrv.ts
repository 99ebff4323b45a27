/**
 * pebble-challtestsrv v2.10.3 (tools/install-acme-clients.sh), started by a test file on free
 * 127.0.0.1 ports: the real DNS server of the ACME tests — every name answers A 127.0.0.1 and
 * AAAA ::1 by default (so `x.acme.test` needs no /etc/hosts), its management API sets TXT, A and
 * AAAA answers — and an independent http-01 and tls-alpn-01 responder (Go's net/http and
 * crypto/tls, its own acmeIdentifier certificate). On a developer machine without it, the tests
 * skip loudly; under CI (CI set) a missing binary fails them: nothing may be skipped there.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { promises as dnsPromises } from 'node:dns';
import { acmeToolPaths } from './acme-tools';
import { freePort } from './tls-check';

export { freePort };

const HOW_TO_INSTALL = 'install it with `bash tools/install-acme-clients.sh` (tools/install-test-deps.sh does; needs Go and the Go module proxy)';

/** A running pebble-challtestsrv. */
export interface Challtestsrv {
  pid: number;
  /** `127.0.0.1:PORT` of its DNS server (UDP and TCP): ValidationSettings.dnsResolver, certctl's `acme.dns_resolver`, Pebble's -dnsserver. */
  dnsResolver: string;
  /** Base URL of its management API (`http://127.0.0.1:PORT`). */
  managementUrl: string;
  http01Port: number;
  tlsAlpn01Port: number;
  /** POSTs a JSON body to its management API (e.g. `/set-txt`, `/add-a`); throws unless it answers 200. */
  post(path: string, body: Record<string, unknown>): Promise<void>;
  /** Everything it printed, for a failing test's message. */
  output(): string;
  stop(): Promise<void>;
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
  const bin = acmeToolPaths().challtestsrv;
  if (existsSync(bin)) return bin;
  const why = `${bin} not found`;
  if (process.env.CI) throw new Error(`ACME tests cannot run under CI: ${why}; ${HOW_TO_INSTALL}`);
  console.warn(`\n*** SKIPPING pebble-challtestsrv tests: ${why}.\n*** ${HOW_TO_INSTALL}.\n`);
  return undefined;
}

/**
 * Starts pebble-challtestsrv on free 127.0.0.1 ports (DoH and HTTPS HTTP-01 off) and waits until
 * its DNS answers. `pidFile`: where its pid is recorded (for a stop from outside the test).
 */
export async function startChalltestsrv(bin: string, opts: { pidFile?: string } = {}): Promise<Challtestsrv> {
  const [dns, management, http01Port, tlsAlpn01Port] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const args = ['-dnsserver', `127.0.0.1:${dns}`, '-management', `127.0.0.1:${management}`];
  args.push('-http01', `127.0.0.1:${http01Port}`, '-tlsalpn01', `127.0.0.1:${tlsAlpn01Port}`, '-https01', '', '-doh', '');
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error(`could not start ${bin}`);
  if (opts.pidFile) writeFileSync(opts.pidFile, `${child.pid}\n`);
  let log = '';
  child.stdout.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const managementUrl = `http://127.0.0.1:${management}`;
  const srv: Challtestsrv = {
    pid: child.pid,
    dnsResolver: `127.0.0.1:${dns}`,
    managementUrl,
    http01Port,
    tlsAlpn01Port,
    async post(path, body) {
      const res = await fetch(`${managementUrl}${path}`, { method: 'POST', body: JSON.stringify(body) });
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
