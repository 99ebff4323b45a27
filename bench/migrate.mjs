#!/usr/bin/env node
// `certctl migrate` file → file (another directory) with 10,000 certificates, against the
// target of issue #5: under 10 s. Builds the source once with `certctl issue node --count N`,
// then times, as fresh processes (spawn to exit), the dry run, the full migration into an
// empty directory (copy + read-back verification), and a re-run that finds everything there
// (resume path: list + verification only). Records the result, with the machine, at the top
// of bench/MIGRATE.md.
//
//   npm run build && node bench/migrate.mjs [--count=10000] [--reps=3] [--no-write] [--keep]
//
// With --remote: migration into Barbican and Vault KV against the real servers (the section
// "migrate" of bench/backends.ts: 1,000 certificates file → barbican and file → vault-kv
// in-process with every HTTP request timed; target: certctl's own time under 10% of the time
// spent in HTTP calls), recorded in bench/MIGRATE.md with the machine:
//
//   set -a; . .cache/openstack-dev/env; set +a; eval "$(tools/vault-dev.sh start)"
//   node bench/migrate.mjs --remote [--count=1000] [--quick] [--into=barbican|vault] [--no-write]
//
// Exit status: 0 the target passes, 1 it fails, 2 a step failed.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const BIN = join(ROOT, 'bin', 'certctl.js');
const RESULTS = join(HERE, 'MIGRATE.md');
const TARGET_SECONDS = 10;
const HEADER =
  '# `certctl migrate` benchmark\n\nWritten by `node bench/migrate.mjs` (after `npm run build`; `--remote` for Barbican and Vault). Newest run first.\n\n<!-- runs -->\n';

const argv = process.argv.slice(2);
const value = (name, dflt) => Number(argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? dflt);
const REMOTE = argv.includes('--remote');
const COUNT = value('count', REMOTE ? 1000 : 10000);
const REPS = value('reps', 3);
const WRITE = !argv.includes('--no-write');
const KEEP = argv.includes('--keep');

/** Puts a section at the top of bench/MIGRATE.md, below the header. */
function record(section) {
  const old = existsSync(RESULTS) ? (readFileSync(RESULTS, 'utf8').split('<!-- runs -->\n')[1] ?? '') : '';
  writeFileSync(RESULTS, `${HEADER}\n${section}\n${old.trimStart()}`);
  console.log(`bench/migrate: recorded in ${RESULTS}`);
}

if (!REMOTE && !existsSync(join(ROOT, 'dist', 'certctl.js'))) {
  console.error('bench/migrate: dist/certctl.js is missing; run `npm run build` first');
  process.exit(2);
}

const TMP = mkdtempSync(join(os.tmpdir(), 'certctl-bench-migrate-'));
const env = {
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CERTCTL_') && k !== 'NODE_OPTIONS')),
  XDG_CONFIG_HOME: join(TMP, 'xdg'),
  CERTCTL_FILE_DIR: join(TMP, 'source'),
};

/** Runs certctl to completion; returns wall seconds and parsed --json output. Exits 2 on failure. */
function certctl(args) {
  const started = performance.now();
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: TMP, env, encoding: 'utf8', maxBuffer: 1 << 26, timeout: 600000 });
  const seconds = (performance.now() - started) / 1000;
  if (r.status !== 0) {
    console.error(`bench/migrate: certctl ${args.join(' ')} exited ${r.status}\n${r.stderr}`);
    process.exit(2);
  }
  return { seconds, json: args.includes('--json') ? JSON.parse(r.stdout).result : undefined };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const first = (cmd, args) => spawnSync(cmd, args, { encoding: 'utf8' }).stdout?.split('\n')[0]?.trim() || '?';

function machine() {
  const cpu = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '?';
  const dirty = spawnSync('git', ['-C', ROOT, 'status', '--porcelain', '--', 'src'], { encoding: 'utf8' }).stdout?.trim();
  const commit = `${first('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'])}${dirty ? ' (src modified)' : ''}`;
  return {
    cpus: `${os.cpus().length} × ${cpu}`,
    ram: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    kernel: os.release(),
    fs: `${os.tmpdir()} (${first('findmnt', ['-no', 'FSTYPE', '-T', os.tmpdir()])})`,
    node: process.version,
    commit,
  };
}

if (REMOTE) {
  // bench/backends.mjs bundles bench/backends.ts and runs its "migrate" section; --no-write keeps it out of BACKENDS.md.
  const into = argv.find((a) => a.startsWith('--into='))?.split('=')[1];
  const args = [
    join(HERE, 'backends.mjs'),
    'migrate',
    '--no-write',
    `--migrate-count=${COUNT}`,
    ...(into ? [`--migrate-into=${into}`] : []),
    ...(argv.includes('--quick') ? ['--quick'] : []),
  ];
  const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 2 * 60 * 60 * 1000 });
  rmSync(TMP, { recursive: true, force: true });
  if (r.status !== 0 && r.status !== 1) {
    process.stdout.write(r.stdout ?? '');
    console.error(`bench/migrate: bench/backends.mjs migrate exited ${r.status}`);
    process.exit(2);
  }
  const m = machine();
  const body = r.stdout
    .trim()
    .split('\n')
    .filter((l) => !l.startsWith('## '))
    .join('\n');
  const pass = !/\| FAIL \|/.test(body);
  const section = [
    `## ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')} — into Barbican and Vault KV: ${pass ? 'target passes' : 'target FAILS'}`,
    '',
    `- machine: ${m.cpus}, ${m.ram} RAM, Linux ${m.kernel}; node ${m.node}; certctl at ${m.commit}; load ${load()}`,
    `- servers: Barbican 15 behind Keystone 22 from Debian's packages (tools/openstack-dev.sh: sqlite, waitress threads=1) and a Vault 1.14 dev server (tools/vault-dev.sh, in-memory storage), both on 127.0.0.1`,
    `- command: \`node bench/migrate.mjs${argv.length ? ` ${argv.join(' ')}` : ''}\``,
    '',
    body.trim(),
    '',
  ].join('\n');
  console.log(section);
  if (WRITE) record(section);
  process.exit(pass ? 0 : 1);
}

const m = machine();
const loadBefore = load();
console.log(`bench/migrate: building a source store of ${COUNT} certificates in ${TMP}`);
certctl(['init', '--cn', 'Bench Migrate CA']);
const build = certctl(['issue', 'node', '--count', String(COUNT)]);
// Some revoked, so revocation records travel too.
const serials = readFileSync(join(TMP, 'source', 'default', 'inventory.jsonl'), 'utf8')
  .match(/"serial":"[0-9A-F]+"/g)
  .slice(0, 100)
  .map((s) => s.slice(10, -1));
certctl(['revoke', ...serials]);
certctl(['crl']);

const dry = certctl(['migrate', '--from', 'file', '--to', 'file', '--to-dir', join(TMP, 'dry'), '--dry-run', '--json']);
const full = [];
const rerun = [];
for (let i = 0; i < REPS; i++) {
  spawnSync('sync');
  const target = join(TMP, `target-${i}`);
  const r = certctl(['migrate', '--from', 'file', '--to', 'file', '--to-dir', target, '--json']);
  const c = r.json.cas[0];
  if (c.copied !== COUNT || c.verified !== COUNT) {
    console.error(`bench/migrate: unexpected result ${JSON.stringify(c)}`);
    process.exit(2);
  }
  full.push(r.seconds);
  rerun.push(certctl(['migrate', '--from', 'file', '--to', 'file', '--to-dir', target, '--json']).seconds);
  rmSync(target, { recursive: true, force: true });
}

const result = median(full);
const pass = result < TARGET_SECONDS;
const fmt = (s) => `${s.toFixed(2)} s`;
const rows = [
  [`build the source: issue node --count ${COUNT}`, fmt(build.seconds), '', '', ''],
  [`migrate --dry-run (${COUNT} certificates)`, fmt(dry.seconds), '', '', ''],
  [
    `**migrate file → file, ${COUNT} certificates, into an empty directory** (copy in batches of 200 + SHA-256 read-back of every object)`,
    `**${fmt(result)}** (${Math.round(COUNT / result)} certs/s)`,
    `< ${TARGET_SECONDS} s`,
    pass ? '**PASS**' : '**FAIL**',
    `runs: ${full.map(fmt).join(', ')}`,
  ],
  ['re-run into the same directory: everything already there (list + verification only)', fmt(median(rerun)), '', '', `runs: ${rerun.map(fmt).join(', ')}`],
];
const section = [
  `## ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')} — ${pass ? 'target passes' : 'target FAILS'}`,
  '',
  `- machine: ${m.cpus}, ${m.ram} RAM, Linux ${m.kernel}, temp dir ${m.fs}`,
  `- node ${m.node}; certctl at ${m.commit}; load before ${loadBefore}, after ${load()}`,
  `- command: \`node bench/migrate.mjs${argv.length ? ` ${argv.join(' ')}` : ''}\`; each time is one certctl process, spawn to exit, durable writes (fsync)`,
  '',
  '| measurement | result | target | verdict | notes |',
  '|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.join(' | ')} |`),
  '',
].join('\n');
console.log(section);

if (WRITE) record(section);
if (!KEEP) rmSync(TMP, { recursive: true, force: true });
process.exit(pass ? 0 : 1);
