#!/usr/bin/env node
// ACME benchmark (issue #13, Speed): full issuances per second (new order → valid certificate,
// http-01) with 1, 4 and 8 clients in parallel and p50/p99 from newOrder to the certificate, for
// `certctl serve` vs step-ca v0.30.2's ACME provisioner vs Pebble v2.10.3, side by side in one
// run (bench/acme.ts says how). Prints a table and records it at the top of bench/ACME.md.
//
//   npm run build && node bench/acme.mjs [--quick] [--only=certctl,step-ca,pebble] [--no-write] [--keep]
//
// Needs tools/install-acme-clients.sh (Pebble, challtestsrv) and step-ca (STEP_CA_BIN, or
// .cache/step-ca/step-ca from tools/install-step-ca.sh); a server that cannot start is reported
// as n/a with the reason. Targets: certctl's rate ≥ step-ca's at every level, certctl's p99 < 250 ms.
// Exit status: 0 targets met, 1 a target missed, 2 certctl could not be measured.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { bundleOptions } from '../scripts/bundle-options.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const OUT = join(ROOT, '.cache', 'bench', 'acme.js');
const RESULTS = join(HERE, 'ACME.md');
const P99_TARGET_MS = 250;

const argv = process.argv.slice(2);
const value = (name) => argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const opts = { quick: argv.includes('--quick'), keep: argv.includes('--keep'), only: value('only')?.split(',').filter(Boolean) };
if (!existsSync(join(ROOT, 'dist', 'certctl.js')) && (!opts.only || opts.only.includes('certctl'))) {
  console.error('bench/acme: dist/certctl.js is missing: run `npm run build` first');
  process.exit(2);
}

mkdirSync(dirname(OUT), { recursive: true });
await build({ ...bundleOptions, entryPoints: [join(HERE, 'acme.ts')], outfile: OUT, logLevel: 'warning' });
const { runAcmeBench } = createRequire(import.meta.url)(OUT);
const started = new Date();
const { rows, machine, rounds, perLevel } = await runAcmeBench(opts);

const f = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const lines = [
  '| server | clients | issuances/s | p50 ms | p99 ms | requests/issuance | polls/issuance | server CPU ms/issuance |',
  '|---|---:|---:|---:|---:|---:|---:|---:|',
];
for (const r of rows) {
  if (r.unavailable) lines.push(`| ${r.server} | – | n/a | | | | | ${r.unavailable.replace(/\|/g, '/')} |`);
  else
    lines.push(
      `| ${r.version} | ${r.clients} | ${f(r.sample.perSecond)} | ${f(r.sample.p50)} | ${f(r.sample.p99)} | ${f(r.sample.requests)} | ${f(r.sample.polls)} | ${f(r.sample.cpuMsPerIssuance)} |`,
    );
}

// Where one issuance's time goes with one client (medians, ms; polls count in their stage).
const stageRows = rows.filter((r) => r.sample && r.clients === 1);
if (stageRows.length) {
  const stages = Object.keys(stageRows[0].sample.stages);
  lines.push('', `| 1 client, median ms per stage | ${stages.join(' | ')} |`, `|---|${stages.map(() => '---:').join('|')}|`);
  for (const r of stageRows) lines.push(`| ${r.version} | ${stages.map((s) => f(r.sample.stages[s])).join(' | ')} |`);
}

// Verdicts: certctl against step-ca at each level, and certctl's p99.
const verdicts = [];
let status = 0;
const at = (server, clients) => rows.find((r) => r.server === server && r.clients === clients && r.sample);
const certctlRows = rows.filter((r) => r.server === 'certctl' && r.sample);
if (certctlRows.length === 0) {
  verdicts.push(`- certctl not measured: ${rows.find((r) => r.server === 'certctl')?.unavailable ?? 'not selected'}`);
  status = 2;
}
for (const c of certctlRows) {
  const step = at('step-ca', c.clients);
  const p99ok = c.sample.p99 < P99_TARGET_MS;
  const rateOk = step ? c.sample.perSecond >= step.sample.perSecond : undefined;
  verdicts.push(
    `- ${c.clients} client(s): p99 ${f(c.sample.p99)} ms ${p99ok ? '<' : '≥'} ${P99_TARGET_MS} ms ${p99ok ? 'PASS' : 'FAIL'}; ` +
      (step ? `${f(c.sample.perSecond)}/s vs step-ca ${f(step.sample.perSecond)}/s ${rateOk ? 'PASS' : 'FAIL'}` : 'step-ca not measured'),
  );
  if (!p99ok || rateOk === false) status = Math.max(status, 1);
}

const section = [
  `## ${started.toISOString()}${opts.quick ? ' (--quick)' : ''}`,
  '',
  `Machine: ${machine}. ${rounds} round(s), ${perLevel} issuances per server and level per round (medians of the rounds).`,
  '',
  ...lines,
  '',
  ...verdicts,
  '',
].join('\n');
console.log(section);
if (!argv.includes('--no-write')) {
  const header = '# ACME benchmark\n\nRecorded by `node bench/acme.mjs` (newest first). See bench/acme.ts for what is measured.\n\n';
  const old = existsSync(RESULTS) ? readFileSync(RESULTS, 'utf8').replace(header, '') : '';
  writeFileSync(RESULTS, `${header}${section}\n${old}`);
}
process.exit(status);
