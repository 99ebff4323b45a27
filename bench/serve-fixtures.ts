/**
 * Request material for bench/serve.mjs, built before any clock starts: P-256 CSRs made with
 * certctl's own key and CSR encoders (the ones `issue` uses for a remote signer), so building
 * thousands takes a second or two. Bundled into .cache/bench/ by bench/serve.mjs, as
 * bench/backends.mjs bundles backends.ts.
 */
import { generateEncodedKeySync } from '../src/core/key-encoding';
import { buildCsrDer } from '../src/core/x509/csr-builder';
import { toPem } from '../src/core/x509/pem';
import { createDerSigner } from '../src/core/x509/signing';

/** One CSR of the pool: its PEM and the one name it asks for (as CN and as its only DNS SAN). */
export interface BenchCsr {
  pem: string;
  name: string;
}

/** `count` CSRs, each with its own P-256 key, for `<prefix>-<i>.bench.example`. */
export function makeCsrs(count: number, prefix: string): BenchCsr[] {
  const out: BenchCsr[] = [];
  for (let i = 0; i < count; i++) {
    const name = `${prefix}-${i}.bench.example`;
    const key = generateEncodedKeySync('ec-p256');
    const der = buildCsrDer({ commonName: name, dnsNames: [name], ipAddresses: [], spkiDer: key.spkiDer }, createDerSigner(key.privateKey()));
    out.push({ pem: toPem(der, 'CERTIFICATE REQUEST'), name });
  }
  return out;
}
