#!/usr/bin/env node
// `certctl issue node --count N` with the CA key in a SoftHSM2 token (signer: pkcs11, store: file)
// against the same with the CA key in the file store, in the same run, alternating, and records
// the table at the top of bench/HSM.md. Target (issue #14): the token's rate at least half the
// file signer's. Everything happens in a temp directory with its own SOFTHSM2_CONF.
//
//   npm run build && node bench/hsm.mjs [--count=10000] [--reps=3] [--no-write]
//
// Each timing is spawn-to-exit of one CLI process into a fresh store (the store is durable when
// it exits), median of the repetitions; the load average is recorded because the machine is shared.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const BIN = join(ROOT, 'bin', 'certctl.js');
const RESULTS = join(HERE, 'HSM.md');
const argv = process.argv.slice(2);
const opt = (name, def) => Number(argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? def);
const COUNT = opt('count', 10000);
const REPS = opt('reps', 3);
const MODULE = ['/usr/lib/softhsm/libsofthsm2.so', '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so'].find(existsSync);
if (!MODULE || spawnSync('sh', ['-c', 'command -v softhsm2-util']).status !== 0) {
  console.error('bench/hsm.mjs needs SoftHSM2: apt-get install softhsm2');
  process.exit(2);
}
if (!existsSync(join(ROOT, 'dist', 'certctl.js'))) {
  console.error('bench/hsm.mjs: run `npm run build` first');
  process.exit(2);
}

const TMP = mkdtempSync(join(tmpdir(), 'certctl-bench-hsm-'));
const conf = join(TMP, 'softhsm2.conf');
mkdirSync(join(TMP, 'tokens'));
writeFileSync(conf, `directories.tokendir = ${join(TMP, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
writeFileSync(join(TMP, 'pin'), '246810\n', { mode: 0o600 });
const env = { ...process.env, SOFTHSM2_CONF: conf, XDG_CONFIG_HOME: join(TMP, 'xdg') };
for (const k of Object.keys(env)) if (k.startsWith('CERTCTL_') || k === 'NODE_OPTIONS') delete env[k];
const init = spawnSync('softhsm2-util', ['--init-token', '--free', '--label', 'bench', '--pin', '246810', '--so-pin', '13579'], { env, encoding: 'utf8' });
if (init.status !== 0) throw new Error(`softhsm2-util: ${init.stderr}`);

/** A fresh directory with a certctl.yaml and a CA; returns the directory. */
function setup(kind, i) {
  const dir = join(TMP, `${kind}-${i}`);
  mkdirSync(dir);
  const pkcs11 =
    kind === 'pkcs11'
      ? `signer: pkcs11\nstore: file\npkcs11:\n  module: ${MODULE}\n  token_label: bench\n  pin_file: ${join(TMP, 'pin')}\n  key_label: "bench-${i}-{ca}"\n`
      : '';
  writeFileSync(join(dir, 'certctl.yaml'), `file:\n  dir: pki\n${pkcs11}`);
  const r = spawnSync(process.execPath, [BIN, 'init', '--cn', `Bench ${kind}`], { cwd: dir, env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`init (${kind}): ${r.stderr}`);
  return dir;
}

/** Certificates per second of one `issue node --count COUNT`. */
function measure(dir) {
  spawnSync('sync');
  const start = performance.now();
  const r = spawnSync(process.execPath, [BIN, 'issue', 'node', '--count', String(COUNT)], { cwd: dir, env, encoding: 'utf8', timeout: 30 * 60 * 1000 });
  const seconds = (performance.now() - start) / 1000;
  if (r.status !== 0) throw new Error(`issue: ${r.stderr}`);
  return COUNT / seconds;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const runs = { file: [], pkcs11: [] };
const loads = [];
try {
  for (let i = 0; i < REPS; i++) {
    for (const kind of i % 2 ? ['pkcs11', 'file'] : ['file', 'pkcs11']) {
      loads.push(loadavg()[0]);
      runs[kind].push(measure(setup(kind, i)));
    }
  }
} finally {
  rmSync(TMP, { recursive: true, force: true });
}

const file = median(runs.file);
const token = median(runs.pkcs11);
const ratio = token / file;
const pass = ratio >= 0.5;
const lscpu = spawnSync('lscpu', [], { encoding: 'utf8' }).stdout ?? '';
const model = /Model name:\s*(.+)/.exec(lscpu)?.[1]?.trim() ?? 'unknown';
const cores = /^CPU\(s\):\s*(\d+)/m.exec(lscpu)?.[1] ?? '?';
const softhsm = (spawnSync('softhsm2-util', ['--version'], { encoding: 'utf8' }).stdout ?? '').trim();
const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim();
const fmt = (xs) => xs.map((x) => x.toFixed(0)).join(', ');
const section = `## ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')} — ${pass ? 'PASS' : 'FAIL'}: the token signer runs at ${(ratio * 100).toFixed(0)}% of the file signer's rate

- machine: ${model}, ${cores} CPUs (lscpu), ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM; node ${process.version}; SoftHSM2 ${softhsm}; certctl at ${commit}
- 1-min load during the runs: ${Math.min(...loads).toFixed(2)}–${Math.max(...loads).toFixed(2)}
- command: \`node bench/hsm.mjs --count=${COUNT} --reps=${REPS}\`

| CA key in | \`issue node --count ${COUNT}\` (median) | runs (certs/s) | target |
|---|---|---|---|
| the file store (signer: file) | ${file.toFixed(0)} certs/s | ${fmt(runs.file)} | |
| SoftHSM2 (signer: pkcs11, store: file) | ${token.toFixed(0)} certs/s | ${fmt(runs.pkcs11)} | ≥ ${(file / 2).toFixed(0)} certs/s (half the file signer's): **${pass ? 'PASS' : 'FAIL'}** |
`;
console.log(section);
if (!argv.includes('--no-write')) {
  const head = `# PKCS#11 signer benchmark (issue #14)

Written by \`bench/hsm.mjs\`: \`certctl issue node --count N\` with the CA key in a SoftHSM2 token
(\`signer: pkcs11\`, \`store: file\`) and in the file store, alternating in one run, each into a fresh
store, spawn to exit. Newest run first.

<!-- runs -->
`;
  const old = existsSync(RESULTS) ? (readFileSync(RESULTS, 'utf8').split('<!-- runs -->\n')[1] ?? '') : '';
  writeFileSync(RESULTS, `${head}\n${section}\n${old.trim() ? `${old.trim()}\n` : ''}`);
}
process.exit(pass ? 0 : 1);
