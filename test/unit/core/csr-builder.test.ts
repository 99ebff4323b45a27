import { generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCsr } from '../../../src/core/csr';
import { toPem } from '../../../src/core/x509/pem';
import { createDerSigner } from '../../../src/core/x509/signing';
import { buildCsrDer } from '../../../src/core/x509/csr-builder';
import { run, tempDir } from '../../support/cli';

const gen = promisify(generateKeyPair);

describe('buildCsrDer', () => {
  it.each(['ec', 'rsa', 'ed25519'] as const)('builds a %s CSR that certctl and openssl both verify, names and SANs intact', async (kind) => {
    const { privateKey, publicKey } =
      kind === 'ec' ? await gen('ec', { namedCurve: 'P-256' }) : kind === 'rsa' ? await gen('rsa', { modulusLength: 2048 }) : await gen('ed25519');
    const der = buildCsrDer(
      {
        commonName: 'api.example',
        dnsNames: ['api.example', 'www.example'],
        ipAddresses: ['10.0.0.5', '2001:db8::1'],
        spkiDer: publicKey.export({ type: 'spki', format: 'der' }),
      },
      createDerSigner(privateKey),
    );
    const pem = toPem(der, 'CERTIFICATE REQUEST');
    const parsed = await parseCsr(pem, 'test');
    expect(parsed.commonName).toBe('api.example');
    expect(parsed.dnsNames).toEqual(['api.example', 'www.example']);
    expect(parsed.ipAddresses).toEqual(['10.0.0.5', '2001:db8::1']);
    const t = tempDir();
    try {
      writeFileSync(join(t.dir, 'r.csr'), pem);
      const v = run('openssl', ['req', '-in', join(t.dir, 'r.csr'), '-noout', '-verify', '-text']);
      expect(v.stderr + v.stdout).toMatch(/verify OK|Certificate request self-signature verify OK/);
      expect(v.stdout).toContain('DNS:api.example, DNS:www.example, IP Address:10.0.0.5');
    } finally {
      t.cleanup();
    }
  });
});
