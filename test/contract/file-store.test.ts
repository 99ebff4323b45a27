import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileCertStore } from '../../src/backends/file/file-cert-store';
import { describeCertStoreContract } from './cert-store.contract';

describeCertStoreContract('file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'certctl-store-'));
  return { store: new FileCertStore({ dir: join(dir, 'pki') }), cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
});
