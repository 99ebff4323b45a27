import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/core/config/load';
import { fileBackend } from '../../src/backends/file';
import { openSignerAndStore } from '../support/containers';
import { describeWithSoftHsm } from '../support/softhsm';
import { describeCertStoreContract } from './cert-store.contract';
import { describeSignerContract } from './signer.contract';

jest.setTimeout(120000);

// The Signer contract with CA keys in a real SoftHSM2 token, over the file store (the same suite
// the local signer passes); the CertStore contract through the same container, so the token
// signer beside the store changes nothing of the store's behaviour.
describeWithSoftHsm('PKCS#11 signer (SoftHSM2) over the file store', (hsm) => {
  const fixture = () => {
    const dir = mkdtempSync(join(tmpdir(), 'certctl-pkcs11-'));
    // One token for the file: each test's keys get their own label prefix.
    writeFileSync(join(dir, 'certctl.yaml'), `signer: pkcs11\nstore: file\n${hsm.section(`t${randomBytes(4).toString('hex')}-{ca}`)}`);
    const config = loadConfig({}, { XDG_CONFIG_HOME: join(dir, 'xdg'), CERTCTL_FILE_DIR: join(dir, 'pki') }, dir);
    return { config, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
  };

  describeSignerContract('pkcs11 signer over the file store', async () => {
    const fx = fixture();
    const { signer, store, declared } = openSignerAndStore(fx.config, 'pkcs11', undefined, 'file');
    return { signer, store, declared, cleanup: fx.cleanup };
  });

  describeCertStoreContract('file store beside the pkcs11 signer', async () => {
    const fx = fixture();
    const { store } = openSignerAndStore(fx.config, 'pkcs11', undefined, 'file');
    return { store, declared: fileBackend.capabilities.store, cleanup: fx.cleanup };
  });
});
