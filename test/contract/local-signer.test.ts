import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileCertStore } from '../../src/backends/file/file-cert-store';
import { loadConfig } from '../../src/core/config/load';
import { LocalSigner } from '../../src/core/local-signer';
import { describeSignerContract } from './signer.contract';

describeSignerContract('local signer over the file store', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'certctl-signer-'));
  const store = new FileCertStore({ dir: join(dir, 'pki') });
  const config = loadConfig({}, { XDG_CONFIG_HOME: join(dir, 'xdg') }, dir);
  const signer = new LocalSigner(store, config, { get: () => undefined });
  return { signer, store, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
});
