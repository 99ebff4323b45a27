// Bundles the CLI into dist/certctl.js, then records V8's code cache for it. One file loads
// far faster than hundreds of node_modules files, and start-up time is what an operator's
// shell loop pays per command.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { bundleOptions } from './bundle-options.mjs';

await build({
  ...bundleOptions,
  entryPoints: ['src/cli/index.ts'],
  outfile: 'dist/certctl.js',
  sourcemap: 'linked',
  minifySyntax: true,
  minifyWhitespace: true,
  // Short identifiers: a smaller script to read, hash and deserialize on every start (~1.5 ms);
  // keepNames keeps class and function names, which error kinds report as their name.
  minifyIdentifiers: true,
  keepNames: true,
  legalComments: 'linked',
  logLevel: 'warning',
  // The bundle is the body of a CommonJS module function, written out here rather than added by
  // Module.wrap() on every start: bin/certctl.js compiles the file's text as it is, without
  // first copying half a megabyte into a new string (one young-generation GC less per command).
  banner: { js: '(function (exports, require, module, __filename, __dirname) {' },
  footer: { js: '})' },
});

// bin/certctl.js runs the bundle as a vm.Script, which has no loader for import() on Node 20.
// So src loads a module lazily in one way only, inside the function that needs it:
//   const { parse } = require('yaml') as typeof import('yaml');
// esbuild keeps such a module behind a wrapper that runs on the first require (so a command
// pays only for what it uses), TypeScript still checks the names, and no import() reaches the
// bundle. This check fails the build if one does.
const dynamicImport = /\bimport\(["'`]/.exec(readFileSync('dist/certctl.js', 'utf8'));
if (dynamicImport) throw new Error('dist/certctl.js contains a dynamic import(); use require() in src so bin/certctl.js can run it');

// The cache holds what V8 compiled during a typical command (init + issue server), so
// those functions are not compiled again on every run.
const bin = resolve('bin/certctl.js');
const cache = resolve('dist/certctl.js.cache');
rmSync(cache, { force: true });
const work = mkdtempSync(join(tmpdir(), 'certctl-build-'));
try {
  const run = (args, env = {}) =>
    spawnSync(process.execPath, [bin, ...args], { cwd: work, env: { ...process.env, CERTCTL_FILE_DIR: join(work, 'pki'), ...env }, stdio: 'ignore' });
  run(['init', '--cn', 'build cache']);
  const r = run(['issue', 'server', '--cn', 'cache.example', '--dns', 'cache.example', '--out', join(work, 'out')], { CERTCTL_WRITE_CODE_CACHE: cache });
  if (r.status !== 0) console.warn('scripts/build.mjs: could not record the code cache; certctl works without it, only slower to start');
} finally {
  rmSync(work, { recursive: true, force: true });
}
