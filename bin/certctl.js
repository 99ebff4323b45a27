#!/usr/bin/env node
'use strict';
// The CLI is bundled into one file by `npm run build` (scripts/build.mjs) so a command loads
// one script instead of resolving hundreds of modules: start-up is the hot path. The bundle
// is compiled with V8's code cache (dist/certctl.js.cache, written by the build), which
// saves most of its compile time; a missing or stale cache is simply recompiled.
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const Module = require('node:module');

const file = path.join(__dirname, '..', 'dist', 'certctl.js');
let source;
try {
  source = fs.readFileSync(file, 'utf8');
} catch (err) {
  if (err.code !== 'ENOENT') throw err;
  // A checkout before its first build: say how to build, not an ENOENT stack.
  process.stderr.write(`certctl: not built yet (no ${file}); run \`npm run build\` (or \`npm ci\`, which runs it) in ${path.dirname(__dirname)}\n`);
  process.exit(1);
}
let cachedData;
try {
  cachedData = fs.readFileSync(`${file}.cache`);
} catch {
  cachedData = undefined;
}
// The bundle must not use import(): a vm.Script has no dynamic-import loader on Node 20
// (scripts/build.mjs fails the build if one appears). The build writes the bundle already
// wrapped as a module function; one from an older build is wrapped here.
const wrapped = source.startsWith('(function (exports, require, module, __filename, __dirname) {') ? source : Module.wrap(source);
const script = new vm.Script(wrapped, { filename: file, cachedData });
const mod = new Module(file, module);
mod.filename = file;
mod.paths = Module._nodeModulePaths(path.dirname(file));
if (process.env.CERTCTL_WRITE_CODE_CACHE) {
  // Used by the build: after a representative run, save what V8 compiled.
  process.on('exit', () => fs.writeFileSync(process.env.CERTCTL_WRITE_CODE_CACHE, script.createCachedData()));
}
// commander requires node:child_process when it loads (for executable subcommands, which certctl
// has none of); loading it pulls in net and costs every command ~2 ms. It is handed a stand-in
// that loads the real module on first use (fs-atomic's `sync -f` is the only certctl user).
const LAZY = new Set(['node:child_process', 'child_process']);
function lazyModule(id) {
  let real;
  return new Proxy({}, { get: (_target, key) => (real ??= mod.require(id))[key] });
}
const load = (id) => (LAZY.has(id) ? lazyModule(id) : mod.require(id));
script.runInThisContext()(mod.exports, load, mod, file, path.dirname(file));
