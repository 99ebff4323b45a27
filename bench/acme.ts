/**
 * ACME benchmark (issue #13, Speed), run by bench/acme.mjs: full issuances per second (new order
 * → valid certificate over http-01) with 1, 4 and 8 clients in parallel, and the p50/p99 time
 * from newOrder to the certificate, for `certctl serve` vs step-ca v0.30.2's ACME provisioner vs
 * Pebble v2.10.3 (nonce rejection and authorization reuse off, no VA sleep), side by side in one
 * run: every round measures every level on every server in turn, so a load change on the shared
 * machine hits all of them alike; medians of the rounds.
 *
 * Clients: bench/acme-client.ts (one account and one keep-alive connection each; CSRs, keys and
 * accounts made before the clock). One http-01 responder in this process answers for all;
 * pebble-challtestsrv is every server's resolver (each name is 127.0.0.1, no AAAA).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { generateEncodedKeySync } from '../src/core/key-encoding';
import { buildCsrDer } from '../src/core/x509/csr-builder';
import { createDerSigner } from '../src/core/x509/signing';
import { acmeToolPaths } from '../test/support/acme-tools';
import { startChalltestsrv } from '../test/support/challtestsrv';
import { freePort } from '../test/support/tls-check';
import { AcmeBenchClient, POLL_MS, STAGES, type Http01Answers, type Issuance } from './acme-client';
import { benchCertctl, benchPebble, benchStepCa, stepCaBinary, type BenchServer, type Validation } from './acme-servers';

export interface AcmeBenchOptions {
  quick: boolean;
  /** Servers to measure (default all three). */
  only?: string[];
  keep?: boolean;
}

/** One measurement: a server at one level of parallelism in one round. */
interface Sample {
  perSecond: number;
  p50: number;
  p99: number;
  requests: number;
  polls: number;
  cpuMsPerIssuance: number;
  /** Median ms of each stage (bench/acme-client.ts STAGES). */
  stages: Record<string, number>;
}

/** A row of the result table (medians over the rounds), or why the server is missing. */
export interface AcmeBenchRow {
  server: string;
  version: string;
  clients: number;
  sample?: Sample;
  unavailable?: string;
}

const LEVELS = [1, 4, 8];

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** utime + stime of a process in ms (/proc/PID/stat; USER_HZ is 100 on Linux). */
function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return NaN;
  }
}

/** `n` CSRs (each its own P-256 key) for fresh names under acme.bench.test, made with certctl's encoders. */
function csrs(n: number): { name: string; der: Buffer }[] {
  const tag = randomBytes(3).toString('hex');
  return Array.from({ length: n }, (_, i) => {
    const name = `b${tag}-${i}.acme.bench.test`;
    const key = generateEncodedKeySync('ec-p256');
    return { name, der: buildCsrDer({ commonName: name, dnsNames: [name], ipAddresses: [], spkiDer: key.spkiDer }, createDerSigner(key.privateKey())) };
  });
}

/** The shared http-01 responder on 127.0.0.1:port. */
async function responder(answers: Http01Answers): Promise<{ server: Server; port: number }> {
  const port = await freePort();
  const server = createServer((req, res) => {
    const token = (req.url ?? '').replace('/.well-known/acme-challenge/', '');
    const answer = answers.get(token);
    res.writeHead(answer ? 200 : 404, { 'content-type': 'text/plain' }).end(answer ?? '');
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  return { server, port };
}

/** `clients` clients (registered before the clock) issue `work` in parallel; one Sample. */
async function measure(server: BenchServer, answers: Http01Answers, clients: number, work: { name: string; der: Buffer }[]): Promise<Sample> {
  const pool = Array.from({ length: clients }, () => new AcmeBenchClient(server.directory, server.caPem, answers));
  await Promise.all(pool.map((c) => c.register()));
  const results: Issuance[] = [];
  let next = 0;
  const cpu0 = cpuMs(server.pid);
  const t0 = performance.now();
  await Promise.all(
    pool.map(async (client) => {
      while (next < work.length) {
        const w = work[next++];
        results.push(await client.issue(w.name, w.der));
      }
    }),
  );
  const wall = performance.now() - t0;
  const cpu = cpuMs(server.pid) - cpu0;
  pool.forEach((c) => c.close());
  const ms = results.map((r) => r.ms).sort((a, b) => a - b);
  return {
    perSecond: (results.length * 1000) / wall,
    p50: percentile(ms, 50),
    p99: percentile(ms, 99),
    requests: results.reduce((s, r) => s + r.requests, 0) / results.length,
    polls: results.reduce((s, r) => s + r.polls, 0) / results.length,
    cpuMsPerIssuance: cpu / results.length,
    stages: Object.fromEntries(STAGES.map((stage) => [stage, median(results.map((r) => r.stages[stage]))])),
  };
}

/** Starts the servers that are available; a missing one becomes a row saying why. */
async function startServers(tmp: string, v: Validation, only: string[] | undefined, rows: AcmeBenchRow[]): Promise<BenchServer[]> {
  const tools = acmeToolPaths();
  const want = (name: string) => !only || only.includes(name);
  const starters: [string, () => Promise<BenchServer>][] = [
    ['certctl', () => benchCertctl(join(tmp, 'certctl'), v)],
    [
      'step-ca',
      async () => {
        const bin = stepCaBinary();
        if (!bin) throw new Error('no step-ca binary: set STEP_CA_BIN or run tools/install-step-ca.sh');
        return benchStepCa(bin, join(tmp, 'step-ca'), v);
      },
    ],
    ['pebble', () => benchPebble(tools.pebble, join(tmp, 'pebble'), v)],
  ];
  const servers: BenchServer[] = [];
  for (const [name, start] of starters) {
    if (!want(name)) continue;
    try {
      servers.push(await start());
    } catch (err) {
      rows.push({ server: name, version: '', clients: 0, unavailable: (err as Error).message.split('\n')[0] });
    }
  }
  return servers;
}

/** Runs the benchmark; returns one row per server and level (medians of the rounds). */
export async function runAcmeBench(opts: AcmeBenchOptions): Promise<{ rows: AcmeBenchRow[]; machine: string; rounds: number; perLevel: number }> {
  const rounds = opts.quick ? 1 : 3;
  const perLevel = opts.quick ? 40 : 150;
  const tmp = mkdtempSync(join(tmpdir(), 'certctl-acme-bench-'));
  const answers: Http01Answers = new Map();
  const http = await responder(answers);
  const dns = await startChalltestsrv(acmeToolPaths().challtestsrv);
  // IPv4 only, as every server here connects: Pebble does not fall back from a refused ::1.
  await dns.post('/set-default-ipv6', { ip: '' });
  const rows: AcmeBenchRow[] = [];
  const servers = await startServers(tmp, { http01Port: http.port, dnsResolver: dns.dnsResolver }, opts.only, rows);
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB, load ${loadavg()[0].toFixed(2)} at start`;
  try {
    for (const s of servers) await measure(s, answers, 2, csrs(10)); // warm-up: JIT, connections, caches
    const samples = new Map<string, Sample[]>();
    for (let round = 0; round < rounds; round++) {
      for (const clients of LEVELS) {
        for (const s of servers) {
          const key = `${s.name}/${clients}`;
          samples.set(key, [...(samples.get(key) ?? []), await measure(s, answers, clients, csrs(perLevel))]);
        }
      }
    }
    for (const s of servers) {
      for (const clients of LEVELS) {
        const xs = samples.get(`${s.name}/${clients}`) ?? [];
        const m = (f: (x: Sample) => number) => median(xs.map(f));
        rows.push({
          server: s.name,
          version: s.version,
          clients,
          sample: {
            perSecond: m((x) => x.perSecond),
            p50: m((x) => x.p50),
            p99: m((x) => x.p99),
            requests: m((x) => x.requests),
            polls: m((x) => x.polls),
            cpuMsPerIssuance: m((x) => x.cpuMsPerIssuance),
            stages: Object.fromEntries(STAGES.map((stage) => [stage, m((x) => x.stages[stage])])),
          },
        });
      }
    }
  } finally {
    for (const s of servers) await s.stop();
    await dns.stop();
    http.server.close();
    if (!opts.keep) rmSync(tmp, { recursive: true, force: true });
  }
  return { rows, machine: `${machine}, ${loadavg()[0].toFixed(2)} at end; client polls every ${POLL_MS} ms`, rounds, perLevel };
}
