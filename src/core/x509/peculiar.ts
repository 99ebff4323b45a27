import { webcrypto } from 'node:crypto';

let loaded: typeof import('@peculiar/x509') | undefined;

/**
 * @peculiar/x509, loaded on first use (only `sign` and the check of remotely signed certificates
 * need a full ASN.1 parser; the esbuild bundle leaves it external) with Node's WebCrypto as its
 * provider, set once per process.
 */
export function peculiarX509(): typeof import('@peculiar/x509') {
  if (!loaded) {
    loaded = require('@peculiar/x509') as typeof import('@peculiar/x509');
    loaded.cryptoProvider.set(webcrypto as unknown as Parameters<typeof loaded.cryptoProvider.set>[0]);
  }
  return loaded;
}
