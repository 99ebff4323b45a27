#!/usr/bin/env node
// Runs bench/backends.ts (Barbican and Vault backends against the real test servers) and records
// its table at the top of bench/BACKENDS.md.
//
//   eval "$(tools/openstack-dev.sh start)"; eval "$(tools/vault-dev.sh start)"
//   node bench/backends.mjs [barbican] [vault] [--quick] [--no-write]
//
// The TypeScript is bundled with esbuild (already a dev dependency) into .cache/, as the CLI is.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const OUT = join(ROOT, '.cache', 'bench', 'backends.js');
mkdirSync(dirname(OUT), { recursive: true });
await build({ entryPoints: [join(HERE, 'backends.ts')], bundle: true, platform: 'node', target: 'node20', format: 'cjs', outfile: OUT, external: ['@peculiar/x509', 'pkijs', 'asn1js', 'axios', 'node-vault'], logLevel: 'warning' });
const args = process.argv.slice(2).filter((a) => a !== '--no-write');
const r = spawnSync(process.execPath, [OUT, ...args], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 60 * 60 * 1000 });
process.stdout.write(r.stdout ?? '');
if (r.status !== 0) process.exit(r.status ?? 2);
if (!process.argv.includes('--no-write')) {
  const file = join(HERE, 'BACKENDS.md');
  const header = '# Remote backend benchmarks\n\nRecorded by `node bench/backends.mjs` (newest first). See bench/backends.ts for what is measured.\n\n';
  const old = existsSync(file) ? readFileSync(file, 'utf8').replace(header, '') : '';
  writeFileSync(file, `${header}${r.stdout.trim()}\n\n${old}`);
}
process.exit(/FAIL/.test(r.stdout) ? 1 : 0);
