import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/core/config/load';
import { describeCertStoreContract } from '../contract/cert-store.contract';
import { openStore } from '../support/containers';
import { describeWithOpenStack, freshPrefix, inspector, keystoneConfig, writeNoauthConfig } from '../support/servers';

// The CertStore contract, written for the file backend, unchanged against a real Barbican:
// once through Keystone (password flow, catalog lookup) and once through the noauth pipeline.
describeWithOpenStack('Barbican store', (servers) => {
  describeCertStoreContract('barbican via Keystone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'certctl-barbican-'));
    const prefix = freshPrefix();
    const config = keystoneConfig(servers, prefix, dir);
    return {
      ...openStore(config, 'barbican'),
      cleanup: async () => {
        await inspector(config).purge(prefix);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  });

  describeCertStoreContract('barbican noauth', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'certctl-barbican-'));
    const prefix = freshPrefix();
    writeNoauthConfig(dir, servers, prefix);
    const config = loadConfig({}, { XDG_CONFIG_HOME: join(dir, 'xdg') }, dir);
    return {
      ...openStore(config, 'barbican'),
      cleanup: async () => {
        await inspector(config).purge(prefix);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  });
});
