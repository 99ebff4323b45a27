// esbuild options shared by every bundle of certctl's TypeScript: the CLI (scripts/build.mjs)
// and the backend benchmark (bench/backends.mjs), so both load the same modules the same way.
export const bundleOptions = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  // Only `sign` (CSR parsing), the check of remotely signed certificates, PKCS#12 output and the
  // Vault/Barbican backends need these; left
  // out of the bundle they are required from node_modules on first use instead of being
  // parsed by every command. pkcs11js (signer: pkcs11) is a native addon built by `npm ci`
  // (node-gyp): it cannot be bundled, so it too is required from node_modules. The server's
  // libraries (Fastify and its plugins, prom-client, the OCSP codec) are for `certctl serve` alone.
  external: [
    '@peculiar/x509',
    'pkijs',
    'asn1js',
    'axios',
    'node-vault',
    'pkcs11js',
    'fastify',
    '@fastify/rate-limit',
    '@fastify/swagger',
    'prom-client',
    '@peculiar/asn1-ocsp',
    '@peculiar/asn1-schema',
    '@peculiar/asn1-x509',
  ],
};
