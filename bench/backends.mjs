#!/usr/bin/env node
// Runs bench/backends.ts (Barbican and Vault backends against the real test servers) and records
// its tables at the top of bench/BACKENDS.md.
//
//   eval "$(tools/openstack-dev.sh start)"          # for barbican and migrate
//   node bench/backends.mjs [barbican] [vault] [migrate] [--quick] [--no-write]
//
// The Vault section starts its own fresh Vault dev servers through tools/vault-dev.sh (over
// TLS; a fresh one per placement, because an in-memory Vault slows down as it fills): first
// with Vault and certctl on separate CPUs (taskset), as they are in any deployment, which
// gives the verdict; then sharing every CPU, reported beside it. Without taskset or with a
// single CPU only the shared run is made, and it gives the verdict.
//
// The TypeScript is bundled with esbuild (already a dev dependency) into .cache/, as the CLI is.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { bundleOptions } from '../scripts/bundle-options.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const OUT = join(ROOT, '.cache', 'bench', 'backends.js');
mkdirSync(dirname(OUT), { recursive: true });
await build({ ...bundleOptions, entryPoints: [join(HERE, 'backends.ts')], outfile: OUT, logLevel: 'warning' });

const args = process.argv.slice(2).filter((a) => a !== '--no-write');
const which = args.filter((a) => !a.startsWith('--'));
const flags = args.filter((a) => a.startsWith('--'));
const wantVault = which.length === 0 || which.includes('vault');
const others = which.length === 0 ? ['barbican'] : which.filter((w) => w !== 'vault');

/** Runs the bundled bench with `benchArgs`; its stdout, or exits with its status. */
function bench(benchArgs, env = process.env, cpuList) {
  const argv = [OUT, ...benchArgs, ...flags];
  const [cmd, cmdArgs] = cpuList ? ['taskset', ['-c', cpuList, process.execPath, ...argv]] : [process.execPath, argv];
  const r = spawnSync(cmd, cmdArgs, { cwd: ROOT, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 60 * 60 * 1000 });
  if (r.status !== 0) {
    process.stdout.write(r.stdout ?? '');
    process.exit(r.status ?? 2);
  }
  return r.stdout.trim();
}

/** Starts a fresh Vault dev server (on `cpuList` if given); returns its env and a stop function. */
function startVault(cpuList) {
  const state = mkdtempSync(join(tmpdir(), 'certctl-bench-vault-'));
  const env = { ...process.env, VAULT_DEV_STATE: state, VAULT_DEV_TLS: '1' };
  for (const k of ['VAULT_ADDR', 'VAULT_TOKEN', 'VAULT_CACERT', 'VAULT_DEV_PORT', 'VAULT_DEV_CPUS']) delete env[k];
  if (cpuList) env.VAULT_DEV_CPUS = cpuList;
  const script = join(ROOT, 'tools', 'vault-dev.sh');
  const printed = execFileSync('bash', [script, 'start'], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const vars = Object.fromEntries([...printed.matchAll(/^export (\w+)='?([^'\n]*)'?$/gm)].map((m) => [m[1], m[2]]));
  return {
    vars,
    stop: () => {
      execFileSync('bash', [script, 'stop'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
      rmSync(state, { recursive: true, force: true });
    },
  };
}

function hasTaskset() {
  return spawnSync('taskset', ['-c', '0', 'true']).status === 0;
}

const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, load ${loadavg()
  .map((l) => l.toFixed(2))
  .join(' ')}`;
const out = [`## ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')} — ${machine}`, ''];
if (others.length) out.push(bench(others), '');

if (wantVault) {
  const n = cpus().length;
  const count = flags.includes('--quick') ? 100 : 1000;
  const placements = [];
  if (n >= 2 && hasTaskset()) {
    const clientCpus = n === 2 ? '0' : `0-${n - 2}`;
    placements.push({
      label: `Separate CPUs, as on separate hosts: Vault on CPU ${n - 1} (so Go sets GOMAXPROCS to 1), certctl and the bare client on CPU ${clientCpus} — the verdict`,
      vaultCpus: String(n - 1),
      clientCpus,
      verdict: true,
    });
    placements.push({
      label: `Shared CPUs: Vault, certctl and the bare client all on the same ${n} CPUs (reported, not the verdict: see below)`,
      verdict: false,
    });
  } else {
    placements.push({
      label: `Shared CPUs: Vault, certctl and the bare client on the same ${n} CPU(s) (taskset unavailable, so this is the verdict)`,
      verdict: true,
    });
  }
  out.push(`### Vault: issue node --count ${count} (Vault 1.14 dev server built from Go modules, in-memory storage, TLS; a fresh server per placement)`, '');
  for (const p of placements) {
    const vault = startVault(p.vaultCpus);
    try {
      const env = { ...process.env, ...vault.vars, CERTCTL_BENCH_PLACEMENT: p.label, CERTCTL_BENCH_VERDICT: p.verdict ? '1' : '0' };
      for (const k of ['CERTCTL_IT_VAULT_ADDR', 'CERTCTL_IT_VAULT_TOKEN', 'CERTCTL_IT_VAULT_CACERT']) delete env[k];
      out.push(bench(['vault'], env, p.clientCpus), '');
    } finally {
      vault.stop();
    }
  }
  out.push(
    'certctl makes the same two calls per certificate as the bare client (sign/:role, one KV check-and-set',
    'write) plus, per command, the CA record read and the issuer read. Beyond the bare calls, certctl',
    'generates each key and signs its CSR (the third row does that too, inside the clock), checks the',
    'request against its profile, reads back what Vault signed and builds the inventory record. The verdict',
    'is taken with Vault and certctl on separate CPUs because that is how they run in any deployment (Vault',
    'on its own server): sharing 2 CPUs, every microsecond certctl spends on a key and a CSR is taken from',
    'Vault, which then signs more slowly — a measure of the machine more than of certctl, shown in the',
    'second table all the same.',
    '',
  );
}

const text = `${out.join('\n').trim()}\n`;
process.stdout.write(text);
if (!process.argv.includes('--no-write')) {
  const file = join(HERE, 'BACKENDS.md');
  const header = '# Remote backend benchmarks\n\nRecorded by `node bench/backends.mjs` (newest first). See bench/backends.ts for what is measured.\n\n';
  const old = existsSync(file) ? readFileSync(file, 'utf8').replace(header, '') : '';
  writeFileSync(file, `${header}${text}\n${old}`);
}
process.exit(/\bFAIL\b/.test(text) ? 1 : 0);
