import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/core/config/load';
import { openStore } from '../support/containers';
import { describeCertStoreContract } from './cert-store.contract';

describeCertStoreContract('file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'certctl-store-'));
  const config = loadConfig({}, { XDG_CONFIG_HOME: join(dir, 'xdg'), CERTCTL_FILE_DIR: join(dir, 'pki') }, dir);
  return { ...openStore(config, 'file'), cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
});
