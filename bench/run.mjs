#!/usr/bin/env node
// certctl benchmarks against the targets of the performance issue, with openssl, cfssl and
// easy-rsa measured in the same run as baselines, and `certctl serve` against `cfssl serve` and
// step-ca (bench/serve.mjs). Prints a table and records it at the top of bench/RESULTS.md.
// Installs nothing system-wide (the serve section builds step-ca into .cache/ once, with
// tools/install-step-ca.sh); everything else happens in a temp directory.
//
//   npm run bench                    # builds, then the full run (~10-15 min on 2 cores)
//   node bench/run.mjs --quick       # smaller counts (~1-2 min); the store targets are then
//                                    # measured on a smaller store and only indicative
//   options: --profile         CPU-profile (node --cpu-prof) each failing certctl target and
//                              add a summary to RESULTS.md; --profile=all profiles every target
//            --keep            keep the temp directory
//            --no-write        do not touch bench/RESULTS.md
//            --skip=a,b        skip sections: fleet, openssl, cfssl, cfssl-serve, easyrsa, cold, store, serve
//            --only=a,b        run only these sections
//            --servers=a,b     serve section: only these of certctl, cfssl, step-ca (targets then n/a)
//
// Exit status: 0 all targets pass, 1 a target fails, 2 a tool is missing or a step failed.
//
// Every timing is the median of at least 3 repetitions; the load average and the
// IO pressure (/proc/pressure/io) are recorded with each result because the machine is shared.
// Child processes run with a hard timeout (SIGKILL to the whole process tree), because a
// process that hangs must fail the run rather than stall it.
import { spawn, spawnSync } from 'node:child_process';
import {
  accessSync,
  constants as fsConstants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { loadMapper, render as renderProfile, summarise } from './profile-summary.mjs';
import { killTree } from './proc.mjs';
import { benchServe } from './serve.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const BIN = join(ROOT, 'bin', 'certctl.js');
const DIST = join(ROOT, 'dist', 'certctl.js');
const RESULTS = join(HERE, 'RESULTS.md');

// ---------------------------------------------------------------------------------------------
// Options

const argv = process.argv.slice(2);
const flag = (name) => argv.some((a) => a === `--${name}` || a.startsWith(`--${name}=`));
const flagValue = (name) => argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
if (flag('help')) {
  console.log(
    readFileSync(fileURLToPath(import.meta.url), 'utf8')
      .split('\n')
      .slice(1, 22)
      .map((l) => l.replace(/^\/\/ ?/, ''))
      .join('\n'),
  );
  process.exit(0);
}
const QUICK = flag('quick');
const PROFILE = flag('profile') ? (flagValue('profile') === 'all' ? 'all' : 'failing') : 'none';
const KEEP = flag('keep');
const WRITE = !flag('no-write');
const SKIP = new Set((flagValue('skip') ?? '').split(',').filter(Boolean));
const ONLY = new Set((flagValue('only') ?? '').split(',').filter(Boolean));

const P = QUICK
  ? {
      fleetCount: 2000,
      reps: 3,
      opensslN: 60,
      cfsslN: 40,
      serveN1: 400,
      serveN4: 800,
      easyrsaN: 4,
      coldRuns: 8,
      storeBatches: 2,
      storeBatch: 5000,
      revokeN: 1000,
      showRuns: 8,
      listRuns: 3,
      crlRuns: 5,
    }
  : {
      fleetCount: 10000,
      reps: 3,
      opensslN: 300,
      cfsslN: 200,
      serveN1: 3000,
      serveN4: 6000,
      easyrsaN: 10,
      coldRuns: 15,
      storeBatches: 10,
      storeBatch: 10000,
      revokeN: 10000,
      showRuns: 15,
      listRuns: 5,
      crlRuns: 8,
    };
const STORE_TOTAL = P.storeBatches * P.storeBatch;

// ---------------------------------------------------------------------------------------------
// Process helpers

/** The environment every measured command gets: no NODE_EXTRA_CA_CERTS / NODE_OPTIONS, no user config. */
function cleanEnv(extra = {}) {
  const env = { ...process.env };
  for (const k of Object.keys(env)) {
    if (k === 'NODE_EXTRA_CA_CERTS' || k === 'NODE_OPTIONS' || k.startsWith('CERTCTL_') || k.startsWith('EASYRSA')) delete env[k];
  }
  return { ...env, XDG_CONFIG_HOME: join(TMP, 'xdg'), ...extra };
}

/**
 * Runs a command to completion. Resolves { code, stdout, stderr, ms } where ms is the wall time
 * from spawn to exit. On timeout the process tree is SIGKILLed and the promise rejects.
 */
function run(cmd, args, { env, cwd = TMP, input, timeoutMs = 120000, quiet = false } = {}) {
  return new Promise((resolvePromise, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { env: env ?? cleanEnv(), cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let ms;
    const out = [];
    const err = [];
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => err.push(d));
    child.stdin.on('error', () => undefined);
    if (input !== undefined) child.stdin.end(input);
    else child.stdin.end();
    const timer = setTimeout(() => {
      killTree(child.pid);
      reject(new Error(`timed out after ${timeoutMs / 1000} s (process tree killed): ${cmd} ${args.join(' ').slice(0, 200)}`));
    }, timeoutMs);
    child.on('exit', () => (ms = performance.now() - t0));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const r = { code: code ?? (signal ? 128 : 1), signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), ms };
      if (!quiet && r.code !== 0) r.failed = `${cmd} ${args.join(' ').slice(0, 200)} exited ${r.code}: ${r.stderr.slice(-500)}`;
      resolvePromise(r);
    });
  });
}

/** Like run() but throws on a non-zero exit. */
async function must(cmd, args, opts) {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new Error(r.failed ?? `${cmd} failed`);
  return r;
}

/** A certctl command line (node + bin/certctl.js). */
const certctl = (...args) => ['node', [BIN, ...args]];

/** The path of an executable on $PATH, or undefined. */
function which(cmd) {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (!dir) continue;
    try {
      accessSync(join(dir, cmd), fsConstants.X_OK);
      return join(dir, cmd);
    } catch {
      /* not here */
    }
  }
  return undefined;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The share of the last 10 s in which some task waited for `resource` (/proc/pressure), or ''. */
function pressure(resource) {
  try {
    return /some avg10=([\d.]+)/.exec(readFileSync(`/proc/pressure/${resource}`, 'utf8'))?.[1] ?? '';
  } catch {
    return ''; // no PSI
  }
}

/**
 * The 1-minute load average, the IO pressure and the CPU pressure (a task waiting for a CPU: on a
 * shared machine, other tenants' load that the load average of this one does not show).
 */
function loadNow() {
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  return { load, io: pressure('io'), cpu: pressure('cpu') };
}
const loadText = (l) => `load ${l.load}${l.io !== '' ? `, io psi ${l.io}%` : ''}${l.cpu ? `, cpu psi ${l.cpu}%` : ''}`;
/** Several load samples in one short text: the range of the 1-minute load and the highest IO and CPU pressure. */
function loadsText(ls) {
  const one = ls.map((l) => Number(l.load.split(' ')[0]));
  const highest = (k) => {
    const xs = ls.filter((l) => l[k]).map((l) => Number(l[k]));
    return xs.length ? Math.max(...xs).toFixed(1) : undefined;
  };
  const lo = Math.min(...one).toFixed(2);
  const hi = Math.max(...one).toFixed(2);
  const io = highest('io');
  const cpu = highest('cpu');
  return `${lo === hi ? lo : `${lo}–${hi}`}${io !== undefined ? `, io ≤ ${io}%` : ''}${cpu !== undefined ? `, cpu ≤ ${cpu}%` : ''}`;
}

/** Flushes dirty data left by a previous step so it is not charged to the next measurement. */
async function settle() {
  await run('sync', [], { timeoutMs: 120000, quiet: true });
  await sleep(500);
}

function log(text) {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${text}\n`);
}

// ---------------------------------------------------------------------------------------------
// Preconditions and machine

function preconditions() {
  const missing = [];
  for (const [tool, hint] of [
    ['openssl', 'apt-get install -y openssl'],
    ['cfssl', 'apt-get install -y golang-cfssl'],
    ['hyperfine', 'apt-get install -y hyperfine'],
    ['sync', 'coreutils'],
    ['bash', 'bash'],
  ]) {
    if (!which(tool)) missing.push(`${tool} (${hint})`);
  }
  if (missing.length) {
    console.error(`bench: missing tools: ${missing.join(', ')}. The benchmark installs nothing; install them and run again.`);
    process.exit(2);
  }
  if (!existsSync(DIST)) {
    console.error(`bench: ${DIST} is missing; run \`npm run bench\` (it builds first) or \`npm run build\`.`);
    process.exit(2);
  }
  const newestSrc = (dir) =>
    readdirSync(dir, { withFileTypes: true }).reduce(
      (m, e) => Math.max(m, e.isDirectory() ? newestSrc(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs),
      0,
    );
  if (existsSync(join(ROOT, 'src')) && newestSrc(join(ROOT, 'src')) > statSync(DIST).mtimeMs) {
    log('warning: dist/certctl.js is older than src/; this measures the old build (`npm run bench` builds first)');
  }
}

/** easy-rsa's script in its own directory (next to x509-types/), which the benchmark copies. */
function easyrsaPath() {
  for (const candidate of ['/usr/share/easy-rsa/easyrsa', which('easyrsa')]) {
    if (!candidate) continue;
    const real = realpathSync(candidate);
    if (existsSync(join(dirname(real), 'x509-types'))) return real;
  }
  return undefined;
}

function machine() {
  const first = (cmd, args) => spawnSync(cmd, args, { encoding: 'utf8' }).stdout?.split('\n')[0]?.trim() ?? '?';
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  // findmnt names ext4 correctly (stat -f says "ext2/ext3" for every ext* filesystem).
  const fsType = which('findmnt') ? first('findmnt', ['-no', 'FSTYPE', '-T', os.tmpdir()]) : first('stat', ['-f', '-c', '%T', os.tmpdir()]);
  const er = easyrsaPath();
  const erVersion = er ? (spawnSync(er, ['--version'], { encoding: 'utf8' }).stdout.match(/Version:\s*(\S+)/)?.[1] ?? '?') : 'not installed';
  let commit = '?';
  try {
    commit = spawnSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout.trim();
    const dirty = spawnSync('git', ['-C', ROOT, 'status', '--porcelain', '--', 'src'], { encoding: 'utf8' }).stdout.trim();
    if (dirty) commit += ' (src modified)';
  } catch {
    /* not a git checkout */
  }
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    nproc: first('nproc', []),
    cpu: /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1] ?? '?',
    ram: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    kernel: os.release(),
    tmpfs: `${os.tmpdir()} (${fsType})`,
    node: process.version,
    openssl: first('openssl', ['version']),
    cfssl: spawnSync('cfssl', ['version'], { encoding: 'utf8' }).stdout.match(/Version:\s*(\S+)/)?.[1] ?? '?',
    hyperfine: first('hyperfine', ['--version']),
    easyrsa: erVersion,
    commit,
    load: loadText(loadNow()),
  };
}

// ---------------------------------------------------------------------------------------------
// Measurements

const ROWS = []; // { section, what, value, unit, target, pass, notes, load }
const PROFILES = []; // { title, text }

function row(r) {
  ROWS.push(r);
  const verdict = r.pass === undefined ? '' : r.pass ? '  PASS' : '  FAIL';
  log(`  ${r.what}: ${r.value}${r.unit ? ` ${r.unit}` : ''}${r.target ? ` (target ${r.target})` : ''}${verdict}${r.notes ? `  [${r.notes}]` : ''}`);
}

async function newCertctlStore(name) {
  const dir = join(TMP, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const env = cleanEnv({ CERTCTL_FILE_DIR: join(dir, 'pki') });
  await must(...certctl('init', '--cn', 'Bench CA'), { env, cwd: dir });
  return { dir, env };
}

/** Profiles one certctl command with --cpu-prof and keeps a text summary. */
async function profileCertctl(title, args, { env, cwd, input, intervalUs = 250 }) {
  const dir = join(TMP, `prof-${PROFILES.length}`);
  mkdirSync(dir, { recursive: true });
  const r = await run('node', ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-interval=${intervalUs}`, BIN, ...args], {
    env,
    cwd,
    input,
    timeoutMs: 600000,
  });
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) return log(`  (no profile written for ${title})`);
  const summary = summarise(JSON.parse(readFileSync(join(dir, file), 'utf8')), loadMapper(`${DIST}.map`));
  const text = `wall ${r.ms.toFixed(0)} ms (with profiler)\n${renderProfile(summary, 15)}`;
  PROFILES.push({ title, text });
  log(`  profiled: ${title}`);
}

const wantProfile = (pass) => PROFILE === 'all' || (PROFILE === 'failing' && pass === false);

/** Counts files in a directory. */
const countFiles = (dir) => (existsSync(dir) ? readdirSync(dir).length : 0);

// --- 1. Fleet issuance ------------------------------------------------------------------------

async function benchFleet() {
  const N = P.fleetCount;
  // The target: `certctl issue node --count N` into the file store, durable when it returns.
  log(`fleet: certctl issue node --count ${N} into the file store, ${P.reps} repetitions, fresh store each`);
  const storeRates = [];
  const storeLoads = [];
  for (let rep = 0; rep < P.reps; rep++) {
    const { dir, env } = await newCertctlStore('fleet-store');
    await settle();
    const l = loadNow();
    const r = await must(...certctl('issue', 'node', '--count', String(N), '--json'), { env, cwd: dir, timeoutMs: 300000 });
    const issued = JSON.parse(r.stdout).result.certificates.length;
    if (issued !== N) throw new Error(`fleet: expected ${N} certificates, got ${issued}`);
    storeRates.push(N / (r.ms / 1000));
    storeLoads.push(l);
    log(`  rep ${rep + 1}: ${(r.ms / 1000).toFixed(2)} s = ${(N / (r.ms / 1000)).toFixed(0)} certs/s (${loadText(l)})`);
    rmSync(dir, { recursive: true, force: true });
  }
  const storeRate = median(storeRates);
  row({
    section: 'fleet',
    what: `certctl issue node --count ${N} into the file store (durable)`,
    value: storeRate.toFixed(0),
    unit: 'certs/s',
    target: '≥ 2500 certs/s',
    pass: storeRate >= 2500,
    notes: `runs: ${storeRates.map((x) => x.toFixed(0)).join(', ')}`,
    load: loadsText(storeLoads),
  });

  log(`fleet: certctl issue node --count ${N} --format flocker, ${P.reps} repetitions, fresh store each`);
  const rates = [];
  const floors = [];
  const loads = [];
  let last;
  for (let rep = 0; rep < P.reps; rep++) {
    const { dir, env } = await newCertctlStore('fleet');
    const out = join(dir, 'out');
    // The filesystem floor: the same files written and flushed with no crypto (bench/fs-floor.mjs).
    await settle();
    const floorDir = join(TMP, 'floor');
    const floor = JSON.parse((await must('node', [join(HERE, 'fs-floor.mjs'), String(N), floorDir], { timeoutMs: 300000 })).stdout).ms;
    floors.push(N / (floor / 1000));
    rmSync(floorDir, { recursive: true, force: true });
    await settle();
    const l = loadNow();
    const r = await must(...certctl('issue', 'node', '--count', String(N), '--format', 'flocker', '--out', out, '--json'), {
      env,
      cwd: dir,
      timeoutMs: 300000,
    });
    const files = countFiles(out);
    const issued = JSON.parse(r.stdout).result.certificates.length;
    if (files !== 2 * N + 1 || issued !== N) throw new Error(`fleet: expected ${N} certificates and ${2 * N + 1} files, got ${issued} and ${files}`);
    if (rep === 0) {
      const crt = readdirSync(out).find((f) => f.endsWith('.crt') && f !== 'cluster.crt');
      await must('openssl', ['verify', '-CAfile', join(out, 'cluster.crt'), join(out, crt)]);
    }
    rates.push(N / (r.ms / 1000));
    loads.push(l);
    log(
      `  rep ${rep + 1}: ${(r.ms / 1000).toFixed(2)} s = ${(N / (r.ms / 1000)).toFixed(0)} certs/s; filesystem floor ${(floor / 1000).toFixed(2)} s (${loadText(l)})`,
    );
    last = { env, dir };
    if (rep < P.reps - 1) rmSync(dir, { recursive: true, force: true });
  }
  const rate = median(rates);
  row({
    section: 'fleet',
    what: `the same with --format flocker --out DIR (${2 * N + 1} files, durable)`,
    value: rate.toFixed(0),
    unit: 'certs/s',
    target: '',
    notes: `runs: ${rates.map((x) => x.toFixed(0)).join(', ')}; filesystem floor (same files, no crypto, bench/fs-floor.mjs): ${median(floors).toFixed(0)} certs/s (runs: ${floors.map((x) => x.toFixed(0)).join(', ')}): bound by this disk`,
    load: loadsText(loads),
  });
  FLEET_RATE = storeRate;

  // The same command with store and output on tmpfs: certctl's CPU-bound ceiling, no disk involved.
  const shm = '/dev/shm';
  if (existsSync(shm) && spawnSync('stat', ['-f', '-c', '%T', shm], { encoding: 'utf8' }).stdout.trim() === 'tmpfs') {
    const shmRoot = mkdtempSync(join(shm, 'certctl-bench-'));
    try {
      const tmpfsRates = [];
      const tmpfsLoads = [];
      for (let rep = 0; rep < P.reps; rep++) {
        const env = cleanEnv({ CERTCTL_FILE_DIR: join(shmRoot, `pki${rep}`) });
        await must(...certctl('init', '--cn', 'Bench CA'), { env, cwd: shmRoot });
        tmpfsLoads.push(loadNow());
        const r = await must(...certctl('issue', 'node', '--count', String(N), '--format', 'flocker', '--out', join(shmRoot, `out${rep}`)), {
          env,
          cwd: shmRoot,
          timeoutMs: 300000,
        });
        tmpfsRates.push(N / (r.ms / 1000));
        rmSync(join(shmRoot, `out${rep}`), { recursive: true, force: true });
        rmSync(join(shmRoot, `pki${rep}`), { recursive: true, force: true });
      }
      row({
        section: 'fleet-info',
        what: `the same, store and --out on tmpfs (${shm}): certctl's CPU ceiling, not durable`,
        value: median(tmpfsRates).toFixed(0),
        unit: 'certs/s',
        notes: `runs: ${tmpfsRates.map((x) => x.toFixed(0)).join(', ')}`,
        load: loadsText(tmpfsLoads),
      });
    } finally {
      rmSync(shmRoot, { recursive: true, force: true });
    }
  }
  if (wantProfile(storeRate >= 2500)) {
    rmSync(join(last.dir, 'out'), { recursive: true, force: true });
    await settle();
    await profileCertctl(
      `issue node --count ${N} --format flocker`,
      ['issue', 'node', '--count', String(N), '--format', 'flocker', '--out', join(last.dir, 'out')],
      { env: last.env, cwd: last.dir },
    );
  }
  rmSync(last.dir, { recursive: true, force: true });
}
let FLEET_RATE;

function baselineRow(section, what, rates, loads, notes) {
  const rate = median(rates);
  row({
    section,
    what,
    value: rate.toFixed(rate < 20 ? 1 : 0),
    unit: 'certs/s',
    notes: `${notes}; runs: ${rates.map((x) => x.toFixed(rate < 20 ? 1 : 0)).join(', ')}${FLEET_RATE ? `; certctl fleet is ${(FLEET_RATE / rate).toFixed(1)}×` : ''}`,
    load: loadsText(loads),
  });
}

// --- 2. openssl shell loop --------------------------------------------------------------------

async function opensslCa(dir) {
  mkdirSync(dir, { recursive: true });
  await must('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', join(dir, 'ca-key.pem')]);
  await must('openssl', [
    'req',
    '-x509',
    '-new',
    '-key',
    join(dir, 'ca-key.pem'),
    '-subj',
    '/CN=Bench Baseline CA',
    '-days',
    '3650',
    '-sha256',
    '-addext',
    'basicConstraints=critical,CA:true',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
    '-out',
    join(dir, 'ca.pem'),
  ]);
}

async function benchOpenssl() {
  const N = P.opensslN;
  log(`openssl: shell loop, one process per step (genpkey EC P-256, req, x509 -req with SAN+EKU extfile), ${N} certs × ${P.reps}`);
  const dir = join(TMP, 'openssl');
  await opensslCa(dir);
  writeFileSync(
    join(dir, 'ext.cnf'),
    [
      'basicConstraints = critical,CA:FALSE',
      'keyUsage = critical,digitalSignature',
      'extendedKeyUsage = serverAuth,clientAuth',
      'subjectAltName = DNS:${ENV::NODE_NAME}',
      'subjectKeyIdentifier = hash',
      'authorityKeyIdentifier = keyid',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'loop.sh'),
    `#!/bin/bash
set -e
n=$1; out=$2; cd "$(dirname "$0")"; mkdir -p "$out"
for i in $(seq 1 "$n"); do
  export NODE_NAME=node-$i.example
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$out/$i.key" 2>/dev/null
  openssl req -new -key "$out/$i.key" -subj "/CN=$NODE_NAME" -out "$out/$i.csr"
  openssl x509 -req -in "$out/$i.csr" -CA ca.pem -CAkey ca-key.pem -days 365 -sha256 -extfile ext.cnf -out "$out/$i.crt" 2>/dev/null
done
`,
  );
  const { rates, loads } = await timeShellLoop(dir, N, (out) => {
    if (countFiles(out) !== 3 * N) throw new Error(`openssl loop wrote ${countFiles(out)} files, expected ${3 * N}`);
  });
  baselineRow('baseline', `openssl shell loop (3 processes per cert, ${N} certs)`, rates, loads, 'not fsynced');
}

/** Runs `dir/loop.sh N OUT` P.reps times on a settled machine; `check` validates each output. */
async function timeShellLoop(dir, N, check) {
  const rates = [];
  const loads = [];
  for (let rep = 0; rep < P.reps; rep++) {
    const out = join(dir, `out${rep}`);
    await settle();
    const l = loadNow();
    const r = await must('bash', [join(dir, 'loop.sh'), String(N), out], { timeoutMs: 300000 });
    check(out);
    rates.push(N / (r.ms / 1000));
    loads.push(l);
    rmSync(out, { recursive: true, force: true });
  }
  return { rates, loads };
}

// --- 3. cfssl gencert, one process per cert ---------------------------------------------------

const CFSSL_CONFIG = JSON.stringify({
  signing: {
    default: { expiry: '8760h', usages: ['digital signature', 'server auth', 'client auth'] },
    profiles: { node: { expiry: '8760h', usages: ['digital signature', 'server auth', 'client auth'] } },
  },
});
const cfsslCsr = (cn) => ({ CN: cn, hosts: [cn], key: { algo: 'ecdsa', size: 256 } });

async function benchCfsslGencert() {
  const N = P.cfsslN;
  log(`cfssl gencert: one process per cert, ${N} certs × ${P.reps}`);
  const dir = join(TMP, 'cfssl');
  await opensslCa(dir);
  writeFileSync(join(dir, 'config.json'), CFSSL_CONFIG);
  writeFileSync(join(dir, 'csr.json'), JSON.stringify(cfsslCsr('node.example')));
  writeFileSync(
    join(dir, 'loop.sh'),
    `#!/bin/bash
set -e
n=$1; out=$2; cd "$(dirname "$0")"; mkdir -p "$out"
for i in $(seq 1 "$n"); do
  cfssl gencert -ca ca.pem -ca-key ca-key.pem -config config.json -profile node csr.json > "$out/$i.json" 2>/dev/null
done
`,
  );
  const { rates, loads } = await timeShellLoop(dir, N, (out) => {
    const sample = JSON.parse(readFileSync(join(out, '1.json'), 'utf8'));
    if (!sample.cert || !sample.key) throw new Error('cfssl gencert: output has no cert/key');
  });
  baselineRow('baseline', `cfssl gencert (one process per cert, ${N} certs)`, rates, loads, 'JSON to a file, not fsynced');
}

// --- 4. cfssl serve, persistent -----------------------------------------------------------------

async function benchCfsslServe() {
  log(`cfssl serve: POST /api/v1/cfssl/newcert (key generated and signed by the server), node http keep-alive`);
  const dir = join(TMP, 'cfssl-serve');
  await opensslCa(dir);
  writeFileSync(join(dir, 'config.json'), CFSSL_CONFIG);
  const port = 20000 + Math.floor(Math.random() * 20000);
  const server = spawn(
    'cfssl',
    [
      'serve',
      '-address',
      '127.0.0.1',
      '-port',
      String(port),
      '-ca',
      join(dir, 'ca.pem'),
      '-ca-key',
      join(dir, 'ca-key.pem'),
      '-config',
      join(dir, 'config.json'),
      '-loglevel',
      '5',
    ],
    { cwd: dir, stdio: 'ignore', env: cleanEnv() },
  );
  try {
    for (const conc of [1, 4]) {
      const agent = new http.Agent({ keepAlive: true, maxSockets: conc });
      const post = (i) =>
        new Promise((res, rej) => {
          const body = JSON.stringify({ request: cfsslCsr(`node-${i}.example`), profile: 'node' });
          const req = http.request(
            {
              host: '127.0.0.1',
              port,
              path: '/api/v1/cfssl/newcert',
              method: 'POST',
              agent,
              headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
            },
            (resp) => {
              const chunks = [];
              resp.on('data', (c) => chunks.push(c));
              resp.on('end', () => {
                try {
                  const j = JSON.parse(Buffer.concat(chunks).toString());
                  if (j.success && j.result?.certificate && j.result?.private_key) res();
                  else rej(new Error(`cfssl newcert failed: ${JSON.stringify(j.errors ?? j).slice(0, 200)}`));
                } catch (e) {
                  rej(e);
                }
              });
            },
          );
          req.on('error', rej);
          req.setTimeout(30000, () => req.destroy(new Error('cfssl newcert timed out')));
          req.end(body);
        });
      // Wait for the server to come up.
      for (let i = 0; ; i++) {
        try {
          await post(0);
          break;
        } catch (e) {
          if (i > 100) throw new Error(`cfssl serve did not answer on port ${port}: ${e.message}`);
          await sleep(100);
        }
      }
      const N = conc === 1 ? P.serveN1 : P.serveN4;
      const drive = async (n) => {
        let next = 0;
        const t0 = performance.now();
        await Promise.all(
          Array.from({ length: conc }, async () => {
            while (next < n) await post(next++);
          }),
        );
        return performance.now() - t0;
      };
      await drive(Math.min(100, N)); // warm-up
      const rates = [];
      const loads = [];
      for (let rep = 0; rep < P.reps; rep++) {
        const l = loadNow();
        const ms = await drive(N);
        rates.push(N / (ms / 1000));
        loads.push(l);
      }
      agent.destroy();
      baselineRow('baseline', `cfssl serve, newcert, ${conc} in flight (${N} requests)`, rates, loads, 'in memory, nothing written');
    }
  } finally {
    killTree(server.pid);
  }
}

// --- 5. easy-rsa (optional) -------------------------------------------------------------------

async function benchEasyrsa() {
  const er = easyrsaPath();
  if (!er) {
    log('easy-rsa: not installed (apt-get install -y easy-rsa); skipped');
    return;
  }
  const N = P.easyrsaN;
  log(`easy-rsa: build-serverClient-full per cert, ${N} certs × ${P.reps}`);
  const dir = join(TMP, 'easyrsa');
  await must('cp', ['-r', dirname(er), dir]);
  const env = cleanEnv({ EASYRSA_BATCH: '1', EASYRSA_ALGO: 'ec', EASYRSA_CURVE: 'prime256v1' });
  const easyrsa = (...args) => must(join(dir, 'easyrsa'), args, { env, cwd: dir, timeoutMs: 120000 });
  await easyrsa('init-pki');
  await must(join(dir, 'easyrsa'), ['build-ca', 'nopass'], { env: { ...env, EASYRSA_REQ_CN: 'Bench easy-rsa CA' }, cwd: dir });
  const rates = [];
  const loads = [];
  let k = 0;
  for (let rep = 0; rep < P.reps; rep++) {
    await settle();
    const l = loadNow();
    const t0 = performance.now();
    for (let i = 0; i < N; i++) await easyrsa('build-serverClient-full', `node${k++}`, 'nopass');
    rates.push(N / ((performance.now() - t0) / 1000));
    loads.push(l);
  }
  baselineRow(
    'baseline',
    `easy-rsa ${readFileSync(er, 'utf8').match(/EASYRSA_version="?([^"\n]*)/)?.[1] ?? ''} build-serverClient-full (${N} certs)`.replace('  ', ' '),
    rates,
    loads,
    'one easyrsa run per cert',
  );
}

// --- 6. Cold start ----------------------------------------------------------------------------

/** Runs hyperfine -N on named commands; returns { name: { median, mean, stddev, min, max, times } } in ms. */
async function hyperfine(commands, { runs, warmup = 2, env, cwd }) {
  const json = join(TMP, `hyperfine-${Date.now()}-${Math.random().toString(36).slice(2)}.json`);
  const args = ['-N', '--warmup', String(warmup), '--runs', String(runs), '--export-json', json, '--style', 'none'];
  for (const [name, cmd] of commands) args.push('-n', name, cmd);
  await must('hyperfine', args, { env, cwd, timeoutMs: 900000 });
  const out = {};
  for (const r of JSON.parse(readFileSync(json, 'utf8')).results) {
    const ms = r.times.map((t) => t * 1000);
    out[r.command] = { median: median(ms), mean: r.mean * 1000, stddev: (r.stddev ?? 0) * 1000, min: Math.min(...ms), max: Math.max(...ms), times: ms };
    if (r.exit_codes?.some((c) => c !== 0)) throw new Error(`hyperfine: "${r.command}" exited non-zero (${r.exit_codes.join(',')})`);
  }
  return out;
}

/** Several hyperfine rounds (so load spikes hit every command alike); the median of the round medians. */
async function rounds(commands, opts, n = 3) {
  const per = [];
  const loads = [];
  for (let i = 0; i < n; i++) {
    loads.push(loadNow());
    per.push(await hyperfine(commands, opts));
  }
  const out = {};
  for (const [name] of commands) {
    const meds = per.map((p) => p[name].median);
    out[name] = { median: median(meds), rounds: meds, min: Math.min(...per.map((p) => p[name].min)) };
  }
  return { out, loads, per };
}

const fmtMs = (ms) => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(1));

async function benchColdStart() {
  log(`cold start: hyperfine -N, ${P.coldRuns} runs × 3 rounds; NODE_EXTRA_CA_CERTS and NODE_OPTIONS unset`);
  const { dir, env } = await newCertctlStore('cold');
  // As every other section: the earlier sections' dirty pages are flushed first, or this one's
  // fsyncs (each issue makes its files durable) pay for them.
  await settle();
  const D = join(dir, 'D');
  const issue = `node ${BIN} issue server --cn x --dns x --out ${D}`;
  const { out, loads } = await rounds(
    [
      ['node -e 0', 'node -e 0'],
      ['certctl --version', `node ${BIN} --version`],
      ['certctl issue server', issue],
    ],
    { runs: P.coldRuns, warmup: 3, env, cwd: dir },
  );
  if (!existsSync(join(D, 'cert.pem'))) throw new Error('cold start: issue server wrote no cert.pem');
  const base = out['node -e 0'].median;
  const v = out['certctl --version'].median;
  const iss = out['certctl issue server'].median;
  COLD = { base, version: v };
  const l = loadsText(loads);
  row({
    section: 'cold',
    what: '`node -e 0` (reference)',
    value: fmtMs(base),
    unit: 'ms',
    notes: `rounds: ${out['node -e 0'].rounds.map(fmtMs).join(', ')}`,
    load: l,
  });
  row({
    section: 'cold',
    what: '`certctl --version` (= cold start)',
    value: fmtMs(v),
    unit: 'ms',
    notes: `${(v / base).toFixed(2)}× node -e 0; rounds: ${out['certctl --version'].rounds.map(fmtMs).join(', ')}`,
    load: l,
  });
  const pass = iss <= 3 * base;
  row({
    section: 'cold',
    what: '`certctl issue server --cn x --dns x --out D`, fresh process, small store',
    value: fmtMs(iss),
    unit: 'ms',
    target: `≤ 3 × node -e 0 = ${fmtMs(3 * base)} ms`,
    pass,
    notes: `${(iss / base).toFixed(2)}× node -e 0; rounds: ${out['certctl issue server'].rounds.map(fmtMs).join(', ')}`,
    load: l,
  });
  if (wantProfile(pass)) {
    await profileCertctl('issue server (cold start)', ['issue', 'server', '--cn', 'x', '--dns', 'x', '--out', D], { env, cwd: dir, intervalUs: 50 });
    await profileCertctl('--version (cold start)', ['--version'], { env, cwd: dir, intervalUs: 50 });
  }
}
let COLD;

// --- 7. A large store: show, list, crl ----------------------------------------------------------

async function benchStore() {
  log(`store: ${P.storeBatches} × issue node --count ${P.storeBatch} into one store (${STORE_TOTAL} certs), then revoke ${P.revokeN}`);
  const { dir, env } = await newCertctlStore('store');
  const serials = [];
  const batchTimes = [];
  const batchLoads = [];
  for (let b = 0; b < P.storeBatches; b++) {
    const out = join(dir, 'out');
    rmSync(out, { recursive: true, force: true });
    await settle();
    const l = loadNow();
    batchLoads.push(l);
    const r = await must(...certctl('issue', 'node', '--count', String(P.storeBatch), '--format', 'flocker', '--out', out, '--json'), {
      env,
      cwd: dir,
      timeoutMs: 600000,
    });
    for (const c of JSON.parse(r.stdout).result.certificates) serials.push(c.serial);
    batchTimes.push(r.ms);
    log(`  batch ${b + 1}: ${(r.ms / 1000).toFixed(2)} s into a store of ${b * P.storeBatch} (${loadText(l)})`);
  }
  rmSync(join(dir, 'out'), { recursive: true, force: true });
  row({
    section: 'store-info',
    what: `issue node --count ${P.storeBatch} into a growing store (0 → ${STORE_TOTAL - P.storeBatch} certs)`,
    value: `${(batchTimes[0] / 1000).toFixed(2)} → ${(batchTimes[batchTimes.length - 1] / 1000).toFixed(2)}`,
    unit: 's',
    notes: `all batches: ${batchTimes.map((t) => (t / 1000).toFixed(1)).join(', ')} s`,
    load: loadsText(batchLoads),
  });

  // Revoke: one batch command when the CLI takes several serials, else one process per serial.
  const help = (await run(...certctl('revoke', '--help'), { env, cwd: dir, quiet: true })).stdout;
  const batchRevoke = /serial\.\.\.|"-" reads/.test(help);
  const toRevoke = serials.filter((_, i) => i % Math.floor(serials.length / P.revokeN) === 0).slice(0, P.revokeN);
  let revoked = 0;
  await settle();
  const lr = loadNow();
  if (batchRevoke) {
    const r = await must(...certctl('revoke', '-', '--reason', 'superseded'), { env, cwd: dir, input: `${toRevoke.join('\n')}\n`, timeoutMs: 600000 });
    revoked = toRevoke.length;
    row({
      section: 'store-info',
      what: `revoke ${revoked} serials in one command (\`revoke - < serials\`) in a store of ${STORE_TOTAL}`,
      value: (r.ms / 1000).toFixed(2),
      unit: 's',
      load: loadsText([lr]),
    });
  } else {
    // The CLI takes one serial per process: revoke with 4 in flight for at most 120 s.
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < toRevoke.length && performance.now() - t0 < 120000) {
          const s = toRevoke[next++];
          const r = await run(...certctl('revoke', s, '--reason', 'superseded'), { env, cwd: dir, quiet: true });
          if (r.code === 0) revoked++;
        }
      }),
    );
    const secs = (performance.now() - t0) / 1000;
    row({
      section: 'store-info',
      what: `revoke one serial per process, 4 in flight, store of ${STORE_TOTAL}`,
      value: (revoked / secs).toFixed(1),
      unit: 'revokes/s',
      notes: `revoked ${revoked} of ${toRevoke.length} in ${secs.toFixed(0)} s; ${toRevoke.length} would take ~${(((toRevoke.length / revoked) * secs) / 60).toFixed(0)} min: needs a batch revoke`,
      load: loadsText([lr]),
    });
  }

  // Untimed sanity checks.
  const listed = JSON.parse((await must(...certctl('list', '--json'), { env, cwd: dir, timeoutMs: 120000 })).stdout).result;
  if (listed.length !== STORE_TOTAL) throw new Error(`store: list --json returned ${listed.length} records, expected ${STORE_TOTAL}`);
  if (listed.filter((r) => r.status === 'revoked').length !== revoked) throw new Error('store: list does not show every revocation');
  const crlPem = (await must(...certctl('crl'), { env, cwd: dir })).stdout;
  writeFileSync(join(dir, 'test.crl'), crlPem);
  const crlText = (await must('openssl', ['crl', '-in', join(dir, 'test.crl'), '-noout', '-text'])).stdout;
  const crlEntries = (crlText.match(/Serial Number:/g) ?? []).length;
  if (crlEntries !== revoked) throw new Error(`store: the CRL lists ${crlEntries} serials, expected ${revoked}`);
  const showSerial = serials[Math.floor(serials.length / 2) + 1];
  const shown = (await must(...certctl('show', showSerial), { env, cwd: dir })).stdout;
  if (!shown.includes(showSerial) || !shown.includes('BEGIN CERTIFICATE')) throw new Error('store: show printed no record');

  log(`store: hyperfine -N, 3 rounds (show ${P.showRuns} runs, list ${P.listRuns}, crl ${P.crlRuns})`);
  const small = await rounds(
    [
      ['certctl --version', `node ${BIN} --version`],
      ['certctl show', `node ${BIN} show ${showSerial}`],
    ],
    { runs: P.showRuns, warmup: 2, env, cwd: dir },
  );
  const list = await rounds([['certctl list --json', `node ${BIN} list --json`]], { runs: P.listRuns, warmup: 1, env, cwd: dir });
  const crl = await rounds([['certctl crl', `node ${BIN} crl`]], { runs: P.crlRuns, warmup: 1, env, cwd: dir });
  const issueBig = await rounds([['certctl issue server (big store)', `node ${BIN} issue server --cn y --dns y --out ${join(dir, 'D')}`]], {
    runs: Math.max(5, P.crlRuns),
    warmup: 1,
    env,
    cwd: dir,
  });

  const storeNote = QUICK ? ` (quick: ${STORE_TOTAL} certs, not the target's 100,000)` : '';
  const v = small.out['certctl --version'].median;
  const show = small.out['certctl show'].median;
  const showPass = show <= 2 * v;
  row({
    section: 'store',
    what: `\`certctl show SERIAL\`, store of ${STORE_TOTAL}${storeNote}`,
    value: fmtMs(show),
    unit: 'ms',
    target: `≤ 2 × cold start (\`certctl --version\` ${fmtMs(v)} ms) = ${fmtMs(2 * v)} ms`,
    pass: showPass,
    notes: `${(show / v).toFixed(2)}× cold start; rounds: ${small.out['certctl show'].rounds.map(fmtMs).join(', ')}`,
    load: loadsText(small.loads),
  });
  const lst = list.out['certctl list --json'].median;
  const listPass = lst < 2000;
  row({
    section: 'store',
    what: `\`certctl list --json\`, store of ${STORE_TOTAL}${storeNote}`,
    value: fmtMs(lst),
    unit: 'ms',
    target: '< 2000 ms',
    pass: listPass,
    notes: `rounds: ${list.out['certctl list --json'].rounds.map(fmtMs).join(', ')}`,
    load: loadsText(list.loads),
  });
  const c = crl.out['certctl crl'].median;
  const crlPass = c < 1000 && revoked === P.revokeN;
  row({
    section: 'store',
    what: `\`certctl crl\` with ${revoked} revoked, store of ${STORE_TOTAL}${storeNote}`,
    value: fmtMs(c),
    unit: 'ms',
    target: '< 1000 ms',
    pass: crlPass,
    notes: `rounds: ${crl.out['certctl crl'].rounds.map(fmtMs).join(', ')}${revoked !== P.revokeN ? `; only ${revoked} of ${P.revokeN} revoked` : ''}`,
    load: loadsText(crl.loads),
  });
  const ib = issueBig.out['certctl issue server (big store)'].median;
  row({
    section: 'store-info',
    what: `\`certctl issue server\` into the store of ${STORE_TOTAL}`,
    value: fmtMs(ib),
    unit: 'ms',
    notes: COLD ? `${(ib / COLD.base).toFixed(2)}× node -e 0 (small store: see above)` : '',
    load: loadsText(issueBig.loads),
  });

  if (wantProfile(showPass)) await profileCertctl(`show SERIAL (store of ${STORE_TOTAL})`, ['show', showSerial], { env, cwd: dir, intervalUs: 100 });
  if (wantProfile(listPass)) await profileCertctl(`list --json (store of ${STORE_TOTAL})`, ['list', '--json'], { env, cwd: dir });
  if (wantProfile(crlPass)) await profileCertctl(`crl (${revoked} revoked)`, ['crl'], { env, cwd: dir });
  if (PROFILE !== 'none')
    await profileCertctl(`issue server (store of ${STORE_TOTAL})`, ['issue', 'server', '--cn', 'z', '--dns', 'z', '--out', join(dir, 'D')], {
      env,
      cwd: dir,
      intervalUs: 100,
    });
}

// ---------------------------------------------------------------------------------------------
// Report

function table() {
  const lines = ['| measurement | result | target | verdict | 1-min load, IO (and CPU) pressure | notes |', '|---|---|---|---|---|---|'];
  const esc = (s) => String(s ?? '').replace(/\|/g, '\\|');
  for (const r of ROWS) {
    const verdict = r.pass === undefined ? '' : r.pass ? '**PASS**' : '**FAIL**';
    lines.push(`| ${esc(r.what)} | ${esc(r.value)} ${esc(r.unit)} | ${esc(r.target ?? '')} | ${verdict} | ${esc(r.load ?? '')} | ${esc(r.notes ?? '')} |`);
  }
  return lines.join('\n');
}

function report(m, failures, elapsed) {
  const targets = ROWS.filter((r) => r.pass !== undefined);
  const passed = targets.filter((r) => r.pass).length;
  const parts = [
    `## ${m.date}${QUICK ? ' (quick run)' : ''} — ${passed}/${targets.length} targets pass`,
    '',
    `- machine: ${m.nproc} CPUs (${m.cpu}), ${m.ram} RAM, Linux ${m.kernel}, temp dir ${m.tmpfs}`,
    `- versions: node ${m.node}, ${m.openssl}, cfssl ${m.cfssl}, ${m.hyperfine}, easy-rsa ${m.easyrsa}; certctl at ${m.commit}`,
    `- load at start: ${m.load}; run took ${(elapsed / 60000).toFixed(1)} min`,
    `- command: \`node bench/run.mjs ${argv.join(' ')}\``,
    '',
    table(),
  ];
  if (failures.length) parts.push('', 'Errors:', '', ...failures.map((f) => `- ${f}`));
  if (PROFILES.length) {
    parts.push('', '### CPU profiles (`node --cpu-prof`, summarised by bench/profile-summary.mjs)');
    for (const p of PROFILES) parts.push('', `#### ${p.title}`, '', '```', p.text, '```');
  }
  return parts.join('\n');
}

const HEADER = `# certctl benchmark results

Written by \`bench/run.mjs\` (\`npm run bench\`; \`node bench/run.mjs --quick\` for a smaller run).
Newest run first; earlier runs are kept below it (up to 10).

How each number is measured:

- **fleet**: wall time of one \`certctl issue node --count N\` process (spawn to exit) into a fresh
  file store, returning only when keys, certificates and inventory are durable (the target); then
  the same with \`--format flocker --out DIR\`, which also writes 2N+1 files and flushes them.
  Median of 3, \`sync\` before each.
- **baselines**, measured in the same run: an openssl shell loop (genpkey EC P-256, req,
  x509 -req with a SAN + EKU extfile: three processes per certificate), \`cfssl gencert\` once per
  certificate, a persistent \`cfssl serve\` driven through POST /api/v1/cfssl/newcert by a node
  http keep-alive client with 1 and 4 requests in flight, and easy-rsa's build-serverClient-full.
  None of them fsyncs what it writes (cfssl serve writes nothing).
- **cold start** is \`node bin/certctl.js --version\`; \`node -e 0\` is the reference for
  \`issue server\`. hyperfine -N (no shell), 3 rounds, median of the round medians;
  NODE_EXTRA_CA_CERTS and NODE_OPTIONS unset.
- **store**: a store of 100,000 certificates built with ten \`issue node --count 10000\`
  commands, 10,000 of them revoked with the CLI, then \`show\`, \`list --json\` and \`crl\`
  timed with hyperfine as above.
- **serve** (bench/serve.mjs): \`certctl serve\` (file backend), \`cfssl serve\` over HTTPS and
  step-ca v0.30.2 (built from the Go module proxy into .cache/, a JWK provisioner) started side by
  side, each signing P-256 CSRs (POST /v1/sign, /api/v1/cfssl/sign, /1.0/sign with a one-time
  token per request) for one node HTTPS keep-alive client with 1, 4 and 16 requests in flight,
  5 s per run after a 1 s warm-up, 3 rounds interleaving the servers, medians; CSRs and tokens
  built before each clock. Latency percentiles, the server's VmRSS (sampled every 50 ms) and the
  CPU time server and client spend per request come from the same runs; certctl's cached OCSP
  answers (POST /ocsp/{ca}, one request without a nonce) are driven the same way over HTTPS and
  over its plain-HTTP listener. certctl's client proves itself with an mTLS certificate holding a
  role for the CSRs' names; a second certctl with its store on tmpfs shows the code without the
  disk. cfssl keeps nothing; step-ca (badger) and certctl (file store) write every certificate.
- **load** is the 1-minute load average; **io** is /proc/pressure/io \`some avg10\`, the share of the
  last 10 s in which some task waited on IO; **cpu** (/proc/pressure/cpu) the same for a CPU, which
  shows other tenants of a shared host that the load average does not. The machine is shared, so compare runs with similar load.
- The **filesystem floor** (bench/fs-floor.mjs) writes the same 2N+1 files the same way with no
  crypto; the **tmpfs** row runs the fleet command with store and output in /dev/shm. Together they
  separate a slow disk from slow certctl code.

<!-- runs -->
`;

function writeResults(text) {
  let previous = [];
  if (existsSync(RESULTS)) {
    const old = readFileSync(RESULTS, 'utf8');
    const at = old.indexOf('<!-- runs -->');
    if (at !== -1)
      previous = old
        .slice(at + '<!-- runs -->'.length)
        .split(/\n(?=## \d{4}-)/)
        .map((s) => s.trim())
        .filter((s) => s.startsWith('## '));
  }
  writeFileSync(RESULTS, `${HEADER}\n${[text, ...previous].slice(0, 10).join('\n\n')}\n`);
}

// ---------------------------------------------------------------------------------------------

preconditions();
const TMP = flagValue('tmp') ? resolve(flagValue('tmp')) : mkdtempSync(join(os.tmpdir(), 'certctl-bench-'));
mkdirSync(join(TMP, 'xdg'), { recursive: true });
const started = performance.now();
const m = machine();
log(`certctl bench${QUICK ? ' (quick)' : ''} in ${TMP}; ${m.nproc} CPUs, ${m.load}`);

const failures = [];
const sections = [
  ['fleet', benchFleet],
  ['openssl', benchOpenssl],
  ['cfssl', benchCfsslGencert],
  ['cfssl-serve', benchCfsslServe],
  ['easyrsa', benchEasyrsa],
  ['cold', benchColdStart],
  ['store', benchStore],
  [
    'serve',
    () =>
      benchServe({
        tmp: TMP,
        quick: QUICK,
        env: cleanEnv(),
        log,
        row,
        loadNow,
        loadsText,
        profile: PROFILE,
        addProfile: (title, text) => PROFILES.push({ title, text }),
        servers: flagValue('servers')?.split(','),
      }),
  ],
];
let interrupted = false;
process.on('SIGINT', () => {
  interrupted = true;
  log('interrupted; cleaning up');
  if (!KEEP) rmSync(TMP, { recursive: true, force: true });
  process.exit(130);
});
for (const [name, fn] of sections) {
  if (SKIP.has(name) || (ONLY.size && !ONLY.has(name)) || interrupted) continue;
  try {
    await fn();
  } catch (err) {
    failures.push(`${name}: ${err.message}`);
    log(`${name} FAILED: ${err.message}`);
  }
}
const text = report(m, failures, performance.now() - started);
console.log(`\n${text}\n`);
if (WRITE) {
  writeResults(text);
  log(`wrote ${RESULTS}`);
}
if (KEEP) log(`kept ${TMP}`);
else rmSync(TMP, { recursive: true, force: true });
const failed = ROWS.some((r) => r.pass === false) || failures.length > 0;
process.exitCode = failures.length ? 2 : failed ? 1 : 0;
