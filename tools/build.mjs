// Bundles the CLI into dist/certctl.js, then records V8's code cache for it. One file loads
// far faster than hundreds of node_modules files, and start-up time is what an operator's
// shell loop pays per command.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

await build({
  entryPoints: ['src/cli/index.ts'],
  outfile: 'dist/certctl.js',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: 'linked',
  minifySyntax: true,
  minifyWhitespace: true,
  legalComments: 'linked',
  // Only `sign` (CSR parsing), PKCS#12 output and the Vault/Barbican backends need these; left
  // out of the bundle they are required from node_modules on first use instead of being
  // parsed by every command. pkcs11js (signer: pkcs11) is a native addon built by `npm ci`
  // (node-gyp): it cannot be bundled, so it too is required from node_modules.
  external: ['@peculiar/x509', 'pkijs', 'asn1js', 'axios', 'node-vault', 'pkcs11js'],
  logLevel: 'warning',
});

// bin/certctl.js runs the bundle as a vm.Script, which has no loader for import() on Node 20.
const { readFileSync } = await import('node:fs');
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
  if (r.status !== 0) console.warn('tools/build.mjs: could not record the code cache; certctl works without it, only slower to start');
} finally {
  rmSync(work, { recursive: true, force: true });
}
