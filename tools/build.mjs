// Bundles the CLI into dist/certctl.js. One file loads far faster than hundreds of
// node_modules files, and start-up time is what an operator's shell loop pays per command.
import { build } from 'esbuild';

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
  // Only \`sign\` (CSR parsing) and PKCS#12 output need these; left out of the bundle they are
  // required from node_modules on first use instead of being parsed by every command.
  external: ['@peculiar/x509', 'pkijs', 'asn1js'],
  logLevel: 'warning',
});
