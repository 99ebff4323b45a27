import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/core/config/load';
import { openSignerAndStore } from '../support/containers';
import { describeSignerContract } from './signer.contract';

describeSignerContract('local signer over the file store', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'certctl-signer-'));
  const config = loadConfig({}, { XDG_CONFIG_HOME: join(dir, 'xdg'), CERTCTL_FILE_DIR: join(dir, 'pki') }, dir);
  // The file backend cannot sign: the container gives it the core's LocalSigner, with the file store injected.
  const { signer, store } = openSignerAndStore(config, 'file');
  return { signer, store, declared: ['caKeySigning'], cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
});
