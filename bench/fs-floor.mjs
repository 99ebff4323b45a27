#!/usr/bin/env node
// The filesystem floor of a fleet batch: writes the files `issue node --count N --format flocker`
// writes (N .crt + N .key + cluster.crt, typical sizes) the way certctl stages them (temp name,
// write, rename), then one `sync -f`, with no crypto at all. No program that writes these files
// durably to this directory can be faster, so it tells a slow disk from slow certctl code.
//
//   node bench/fs-floor.mjs N DIR     → prints {"ms": …, "files": …}
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const n = Number(process.argv[2]);
const dir = process.argv[3];
if (!n || !dir) {
  console.error('usage: node bench/fs-floor.mjs N DIR');
  process.exit(2);
}
const crt = Buffer.alloc(700, 0x41); // a P-256 leaf in PEM is ~650-750 bytes
const key = Buffer.alloc(241, 0x42); // PKCS#8 P-256 key PEM
const t0 = performance.now();
mkdirSync(dir, { recursive: true, mode: 0o700 });
const files = [['cluster.crt', crt, 0o644]];
for (let i = 0; i < n; i++) {
  const id = randomUUID();
  files.push([`${id}.crt`, crt, 0o644], [`${id}.key`, key, 0o600]);
}
const temps = files.map(([name, data, mode]) => {
  const tmp = join(dir, `.${name}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'wx', mode);
  writeSync(fd, data);
  closeSync(fd);
  return tmp;
});
const sync = spawnSync('sync', ['-f', dir]);
if (sync.status !== 0) throw new Error('sync -f failed');
files.forEach(([name], i) => renameSync(temps[i], join(dir, name)));
const fd = openSync(dir, 'r');
(await import('node:fs')).fsyncSync(fd);
closeSync(fd);
console.log(JSON.stringify({ ms: performance.now() - t0, files: files.length }));
