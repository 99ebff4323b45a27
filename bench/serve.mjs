// The "serve" section of bench/run.mjs (issue #12, Speed): `certctl serve` against `cfssl serve`
// and step-ca v0.30.2, side by side in one run, driven by the same client on the same machine.
//
//   node bench/run.mjs --only=serve [--quick] [--profile]     # this section alone, recorded
//
// - Signing: POST of a P-256 CSR over HTTPS keep-alive with 1, 4 and 16 requests in flight, each
//   for a fixed time (or until the prebuilt bodies run out), after a warm-up; 3 rounds, each round
//   every in-flight level on every server in turn, so a load change on the shared machine hits all
//   of them alike; medians of the rounds. certctl: POST /v1/sign {csr, profile: server, ttl: 24h}
//   (file backend); cfssl: POST /api/v1/cfssl/sign {certificate_request, profile}; step-ca:
//   POST /1.0/sign {csr, ott} with a one-time token per request. CSRs (a pool of distinct keys,
//   reused round-robin) and step-ca's tokens are built before each clock starts.
// - OCSP: certctl's POST /ocsp/{ca} with one prebuilt OCSP request (no nonce, so the answer can be
//   cached), 16 in flight; "n/a" while the server has no such endpoint.
// - Server memory: VmRSS sampled every 50 ms during each run; CPU per request from /proc.
//
// step-ca is built into .cache/step-ca/ by tools/install-step-ca.sh on first use (~2.5 min).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { build } from 'esbuild';
import { bundleOptions } from '../scripts/bundle-options.mjs';
import { loadMapper, render as renderProfile, summarise } from './profile-summary.mjs';
import { keepAliveAgent, runLoad, send } from './serve-load.mjs';
import { startCertctl, ocspTarget } from './serve-certctl.mjs';
import { startCfssl, startStepCa } from './serve-servers.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const IN_FLIGHT = [1, 4, 16];

/** Bundles bench/serve-fixtures.ts (certctl's key and CSR encoders) and loads it. */
async function fixtures() {
  const out = join(ROOT, '.cache', 'bench', 'serve-fixtures.js');
  mkdirSync(dirname(out), { recursive: true });
  await build({ ...bundleOptions, entryPoints: [join(HERE, 'serve-fixtures.ts')], outfile: out, logLevel: 'warning' });
  return createRequire(import.meta.url)(out);
}

/** Builds step-ca if needed (tools/install-step-ca.sh); its path. */
function stepCaBinary(log) {
  const script = join(ROOT, 'tools', 'install-step-ca.sh');
  if (!existsSync(join(ROOT, '.cache', 'step-ca', 'step-ca'))) log('serve: building step-ca v0.30.2 into .cache/step-ca (once, ~2.5 min)');
  return execFileSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

/**
 * One issued certificate from `server`, checked with openssl against its CA (chain and the CSR's
 * name): the servers are compared on the same work only if each really issues. Returns its PEM.
 */
async function sanityCheck(server, csr, dir) {
  const agent = keepAliveAgent(server, 1);
  try {
    const [body] = server.bodies([csr], 1);
    const r = await send(agent, server, body);
    if (!server.expect(r)) throw new Error(`${server.name}: the first sign request failed: HTTP ${r.status} ${r.body.toString().slice(0, 300)}`);
    const pem = server.certificate(r);
    const certFile = join(dir, 'sanity.pem');
    const chainFile = join(dir, 'sanity-trust.pem');
    writeFileSync(certFile, pem);
    writeFileSync(chainFile, (server.trustPems ?? [server.caPem]).join('\n'));
    const v = spawnSync('openssl', ['verify', '-CAfile', chainFile, '-purpose', 'sslserver', certFile], { encoding: 'utf8' });
    if (v.status !== 0) throw new Error(`${server.name}: its certificate does not verify: ${v.stdout}${v.stderr}`);
    const san = execFileSync('openssl', ['x509', '-in', certFile, '-noout', '-ext', 'subjectAltName'], { encoding: 'utf8' });
    if (!san.includes(`DNS:${csr.name}`)) throw new Error(`${server.name}: its certificate does not name ${csr.name}: ${san}`);
    return pem;
  } finally {
    agent.destroy();
  }
}

const mb = (bytes) => (bytes / 1e6).toFixed(0);
const ms = (x) => (x >= 10 ? x.toFixed(1) : x.toFixed(2));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/**
 * How many bodies to prepare for one run: enough for `durationMs` at any plausible rate when they
 * cost nothing (a pool cycled); for one-shot bodies (step-ca's tokens, minted before the clock),
 * twice what this server did last time at this level, or 3,000/s before the first run.
 */
function bodyCount(server, inFlight, durationMs) {
  if (!server.oneShot) return Math.ceil(40 * durationMs);
  const last = server.lastRate?.[inFlight] ?? 3000;
  return Math.ceil(Math.max(1000, (2 * last * durationMs) / 1000));
}

/** One measured run of `target` with `bodiesFor(n)` after a warm-up; syncs first so earlier writes are not charged to it. */
async function measure(target, server, bodiesFor, inFlight, P, count) {
  const agent = keepAliveAgent(server, inFlight);
  try {
    await runLoad(agent, target, bodiesFor(Math.max(200, inFlight * 50)), { inFlight, durationMs: P.warmupMs });
    spawnSync('sync');
    return await runLoad(agent, target, bodiesFor(count), { inFlight, durationMs: P.durationMs });
  } finally {
    agent.destroy();
  }
}

/** One row's notes: the medians of the rounds and what each round measured. */
function notes(runs) {
  const med = (k) => median(runs.map((r) => r[k]));
  const parts = [
    `p50 ${ms(med('p50'))} ms, p99 ${ms(med('p99'))} ms`,
    `server RSS ≤ ${mb(Math.max(...runs.map((r) => r.rssMax)))} MB`,
    `server CPU ${med('serverCpuUs').toFixed(0)} µs/req (${(med('serverCpuShare') * 100).toFixed(0)}% of a CPU), client ${med('clientCpuUs').toFixed(0)} µs/req (${(med('clientCpuShare') * 100).toFixed(0)}%)`,
    `runs: ${runs.map((r) => `${r.rate.toFixed(0)}/s${r.limitedByBodies ? ' (all prebuilt bodies used)' : ''}`).join(', ')}`,
  ];
  const errors = runs.reduce((n, r) => n + r.errors, 0);
  if (errors) parts.push(`${errors} errors, first: ${runs.find((r) => r.firstError)?.firstError.slice(0, 200)}`);
  if (runs[0].tls) parts.push(runs[0].tls);
  return parts.join('; ');
}

/** Starts each server that can be started and checks that it issues; { servers, unavailable: { name: reason } }. */
async function startAll(root, csr, { env, log, servers: only }) {
  const servers = [];
  const unavailable = {};
  const starters = [
    ['certctl', () => startCertctl(join(root, 'certctl'), env)],
    ['cfssl', () => startCfssl(join(root, 'cfssl'), env)],
    ['step-ca', () => startStepCa(join(root, 'step-ca'), env, stepCaBinary(log))],
  ];
  // certctl again with its store on tmpfs, at 16 in flight only: what its code costs without the
  // disk (not durable, no verdict), as the fleet section's tmpfs row does for `issue`.
  const shm = '/dev/shm';
  if (spawnSync('stat', ['-f', '-c', '%T', shm], { encoding: 'utf8' }).stdout?.trim() === 'tmpfs') {
    starters.push([
      'certctl-tmpfs',
      async () => {
        const pkiDir = mkdtempSync(join(shm, 'certctl-bench-serve-'));
        try {
          const server = await startCertctl(join(root, 'certctl-tmpfs'), env, { pkiDir });
          const stop = server.stop;
          return {
            ...server,
            name: 'certctl-tmpfs',
            version: `${server.version}, store on tmpfs (not durable)`,
            levels: [16],
            stop: () => (stop(), rmSync(pkiDir, { recursive: true, force: true })),
          };
        } catch (e) {
          rmSync(pkiDir, { recursive: true, force: true });
          throw e;
        }
      },
    ]);
  }
  for (const [name, start] of starters) {
    if (only && !only.includes(name.replace(/-tmpfs$/, ''))) continue;
    let server;
    try {
      server = await start();
      server.sanityPem = await sanityCheck(server, csr, join(root, name));
      servers.push(server);
      log(`serve: ${server.version} on 127.0.0.1:${server.port} (pid ${server.pid}) issues certificates that verify`);
    } catch (e) {
      server?.stop();
      unavailable[name] = e.message.split('\n')[0].slice(0, 300);
      log(`serve: ${name} unavailable: ${e.message.slice(0, 1000)}`);
    }
  }
  return { servers, unavailable };
}

/** P.rounds rounds of every in-flight level on every server; { [server]: { [inFlight]: { runs, loads } } }. */
async function signRounds(servers, csrs, P, { log, loadNow }) {
  const levels = (s) => s.levels ?? IN_FLIGHT;
  const results = Object.fromEntries(servers.map((s) => [s.name, Object.fromEntries(levels(s).map((c) => [c, { runs: [], loads: [] }]))]));
  for (let round = 1; round <= P.rounds; round++) {
    for (const inFlight of IN_FLIGHT) {
      for (const server of servers.filter((s) => levels(s).includes(inFlight))) {
        const l = loadNow();
        const r = await measure(server, server, (n) => server.bodies(csrs, n), inFlight, P, bodyCount(server, inFlight, P.durationMs));
        (server.lastRate ??= {})[inFlight] = r.rate;
        results[server.name][inFlight].runs.push(r);
        results[server.name][inFlight].loads.push(l);
        log(
          `  round ${round}, ${inFlight} in flight, ${server.name}: ${r.rate.toFixed(0)}/s, p50 ${ms(r.p50)} ms, p99 ${ms(r.p99)} ms, RSS ${mb(r.rssMax)} MB${r.errors ? `, ${r.errors} errors (${r.firstError})` : ''}`,
        );
      }
    }
  }
  return results;
}

/**
 * certctl's OCSP responder, 16 in flight, P.rounds rounds, over HTTPS and over the plain-HTTP
 * listener (alternating); { https, http }, each { runs, loads, path } or { unavailable }.
 */
async function ocspLoad(certctl, P, { log, loadNow }, dir) {
  const out = {};
  const targets = [];
  for (const [key, plain] of [
    ['https', false],
    ['http', true],
  ]) {
    // An OCSP client presents no certificate.
    const client = { caPem: certctl.caPem, plain };
    const sendOnce = async (target, body) => {
      const agent = keepAliveAgent(client, 1);
      try {
        return await send(agent, target, body);
      } finally {
        agent.destroy();
      }
    };
    const o = await ocspTarget(certctl, certctl.sanityPem, dir, sendOnce, plain);
    if (o.unavailable) {
      log(`serve: OCSP over ${key} n/a: ${o.unavailable}`);
      out[key] = o;
    } else {
      out[key] = { runs: [], loads: [], path: o.target.path };
      targets.push({ key, client, ...o });
    }
  }
  for (let round = 1; round <= P.rounds; round++) {
    for (const { key, client, target, body } of targets) {
      out[key].loads.push(loadNow());
      const r = await measure(target, client, (n) => Array(n).fill(body), 16, P, bodyCount({}, 16, P.durationMs));
      out[key].runs.push(r);
      log(`  round ${round}, OCSP over ${key}, 16 in flight: ${r.rate.toFixed(0)}/s, p50 ${ms(r.p50)} ms, p99 ${ms(r.p99)} ms, RSS ${mb(r.rssMax)} MB`);
    }
  }
  return out;
}

/** Profiles a fresh certctl server (node --cpu-prof) under the 16-in-flight sign load; its summary text. */
async function profileServer(csrs, P, root, { env, log }) {
  const dir = join(root, 'certctl-profile');
  const profDir = join(dir, 'prof');
  mkdirSync(profDir, { recursive: true });
  const server = await startCertctl(dir, env, { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profDir}`, '--cpu-prof-interval=250'] });
  let r;
  try {
    r = await measure(server, server, (n) => server.bodies(csrs, n), 16, P, bodyCount(server, 16, P.durationMs));
  } finally {
    await server.terminate();
  }
  const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) return log('serve: certctl serve wrote no CPU profile (did it exit cleanly on SIGTERM?)');
  const summary = summarise(JSON.parse(readFileSync(join(profDir, file), 'utf8')), loadMapper(join(ROOT, 'dist', 'certctl.js.map')));
  return `${r.rate.toFixed(0)} signs/s with the profiler on, 16 in flight, ${r.count} requests\n${renderProfile(summary, 25)}`;
}

/** The rows: each server at each level, then the targets of the issue. Returns the certctl targets' verdicts. */
function report(servers, results, ocsp, unavailable, { row, loadsText }) {
  const names = ['certctl', 'certctl-tmpfs', 'cfssl', 'step-ca'].filter((n) => results[n]);
  const endpoint = {
    certctl: 'POST /v1/sign',
    'certctl-tmpfs': 'POST /v1/sign',
    cfssl: 'POST /api/v1/cfssl/sign',
    'step-ca': 'POST /1.0/sign (a one-time token each)',
  };
  const versions = Object.fromEntries(servers.map((s) => [s.name, s.version]));
  for (const inFlight of IN_FLIGHT) {
    for (const name of names.filter((n) => results[n][inFlight])) {
      const { runs, loads } = results[name][inFlight];
      const rate = median(runs.map((r) => r.rate));
      row({
        section: 'serve',
        what: `${versions[name]}, ${endpoint[name]}, P-256 CSR, ${inFlight} in flight`,
        value: rate.toFixed(0),
        unit: 'certs/s',
        notes: notes(runs),
        load: loadsText(loads),
      });
    }
  }
  for (const [name, reason] of Object.entries(unavailable)) row({ section: 'serve', what: `${name}: not measured`, value: 'n/a', notes: reason });

  const at16 = (name) => results[name]?.[16];
  const why = (name) => `${name} not measured: ${unavailable[name] ?? 'not selected (--servers)'}`;
  const rate16 = (name) => (at16(name) ? median(at16(name).runs.map((r) => r.rate)) : undefined);
  const c = rate16('certctl');
  const verdicts = {};
  /** A target row: `value` undefined means not measured (n/a, no verdict); `detail` and `load` are only called when measured. */
  const target = (key, { what, value, format, unit, target: goal, passes, detail, load, missing }) => {
    const measured = value !== undefined;
    verdicts[key] = measured ? passes(value) : undefined;
    row({
      section: 'serve',
      what,
      value: measured ? format(value) : 'n/a',
      unit: measured ? unit : '',
      target: goal,
      pass: verdicts[key],
      notes: measured ? detail() : missing,
      load: measured && load ? load() : '',
    });
  };
  for (const [other, factor] of [
    ['step-ca', 2],
    ['cfssl', 1.5],
  ]) {
    const o = rate16(other);
    target(`vs-${other}`, {
      what: `certctl serve ÷ ${other}, signs/s at 16 in flight`,
      value: c !== undefined && o !== undefined ? c / o : undefined,
      format: (x) => `${x < 0.1 ? x.toPrecision(2) : x.toFixed(2)}×`,
      unit: '',
      target: `≥ ${factor}×`,
      passes: (x) => x >= factor,
      detail: () => `${c.toFixed(0)} vs ${o.toFixed(0)} certs/s`,
      load: () => loadsText([...at16('certctl').loads, ...at16(other).loads]),
      missing: c === undefined ? why('certctl') : why(other),
    });
  }
  target('p99', {
    what: 'certctl serve p99 latency of POST /v1/sign at 16 in flight',
    value: c !== undefined ? median(at16('certctl').runs.map((r) => r.p99)) : undefined,
    format: ms,
    unit: 'ms',
    target: '< 25 ms',
    passes: (x) => x < 25,
    detail: () =>
      `rounds: ${at16('certctl')
        .runs.map((r) => ms(r.p99))
        .join(', ')} ms`,
    load: () => loadsText(at16('certctl').loads),
    missing: why('certctl'),
  });
  const o = ocsp?.https;
  target('ocsp', {
    what: `certctl serve OCSP over HTTPS, cached answer (POST ${o?.path ?? '/ocsp/{ca}'}, one prebuilt request, no nonce), 16 in flight`,
    value: o?.runs ? median(o.runs.map((r) => r.rate)) : undefined,
    format: (x) => x.toFixed(0),
    unit: 'answers/s',
    target: '≥ 10,000/s',
    passes: (x) => x >= 10000,
    detail: () => notes(o.runs),
    load: () => loadsText(o.loads),
    missing: o?.unavailable ?? why('certctl'),
  });
  // Where OCSP clients (nginx's ssl_ocsp, openssl ocsp -url http://) go: no verdict, the target is read on HTTPS above.
  const h = ocsp?.http;
  if (h?.runs) {
    row({
      section: 'serve',
      what: `certctl serve OCSP over plain HTTP (serve.public_http_listen), the same load`,
      value: median(h.runs.map((r) => r.rate)).toFixed(0),
      unit: 'answers/s',
      notes: notes(h.runs),
      load: loadsText(h.loads),
    });
  }
  const loaded = [...(at16('certctl')?.runs ?? []), ...(o?.runs ?? []), ...(h?.runs ?? [])];
  target('rss', {
    what: 'certctl serve RSS under load (highest VmRSS sampled every 50 ms: signing at 16 in flight, OCSP over HTTPS and HTTP)',
    value: loaded.length ? Math.max(...loaded.map((r) => r.rssMax)) : undefined,
    format: mb,
    unit: 'MB',
    target: '< 200 MB',
    passes: (x) => x < 200e6,
    detail: () => `after the last run: ${mb(loaded[loaded.length - 1].rssEnd)} MB`,
    missing: why('certctl'),
  });
  return verdicts;
}

/**
 * The section: starts the three servers, measures them, and reports rows through `row` (run.mjs's
 * row shape) and CPU profiles through `addProfile(title, text)`. `ctx`: { tmp, quick, env, log,
 * row, loadNow, loadsText, profile ('none' | 'failing' | 'all'), addProfile, servers (names; default all) }. Throws only when no
 * server can be measured.
 */
export async function benchServe(ctx) {
  const { tmp, quick, log } = ctx;
  const P = quick ? { durationMs: 2000, warmupMs: 500, rounds: 3, csrs: 2000 } : { durationMs: 5000, warmupMs: 1000, rounds: 3, csrs: 8000 };
  const root = join(tmp, 'serve');
  mkdirSync(root, { recursive: true });
  const t0 = performance.now();
  const csrs = (await fixtures()).makeCsrs(P.csrs, 'n');
  log(
    `serve: ${P.csrs} P-256 CSRs built in ${((performance.now() - t0) / 1000).toFixed(1)} s (a pool used round-robin; step-ca's tokens are minted per request)`,
  );
  const { servers, unavailable } = await startAll(root, csrs[0], ctx);
  let verdicts;
  try {
    if (!servers.length) throw new Error(`no server could be started: ${JSON.stringify(unavailable)}`);
    log(
      `serve: signing, ${P.rounds} rounds × ${IN_FLIGHT.join(', ')} in flight × ${servers.map((s) => s.name).join(', ')}, ${P.durationMs / 1000} s each after ${P.warmupMs / 1000} s of warm-up`,
    );
    const results = await signRounds(servers, csrs, P, ctx);
    const certctl = servers.find((s) => s.name === 'certctl');
    const ocsp = certctl ? await ocspLoad(certctl, P, ctx, join(root, 'ocsp')) : undefined;
    verdicts = report(servers, results, ocsp, unavailable, ctx);
  } finally {
    for (const s of servers) s.stop();
  }
  const failing = Object.values(verdicts).some((v) => v === false);
  if (servers.some((s) => s.name === 'certctl') && (ctx.profile === 'all' || (ctx.profile === 'failing' && failing))) {
    const text = await profileServer(csrs, P, root, ctx);
    if (text) ctx.addProfile('certctl serve under the 16-in-flight sign load (the whole process, start-up and warm-up included)', text);
  }
}
