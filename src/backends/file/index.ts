import { ContainerModule } from 'inversify';
import { resolve } from 'node:path';
import type { BackendDescriptor } from '../../core/backend';
import { CertStore } from '../../core/cert-store';
import { FileStoreOptions, parseFileOptions } from './options';

/** The embedded default backend: a directory store; the core's LocalSigner signs with the key it keeps. */
export const fileBackend: BackendDescriptor<FileStoreOptions> = {
  name: 'file',
  aliases: [],
  summary: 'a directory on this host; certctl signs with the CA key kept there (encrypted with a passphrase if set)',
  section: 'file',
  provides: { store: true, signer: false },
  capabilities: { store: ['raiseCrlNumber', 'deleteCa', 'audit', 'removeCaKey', 'state', 'revocationVersion'], signer: [] },
  parseOptions: parseFileOptions,
  module(options) {
    return new ContainerModule(({ bind }) => {
      bind(FileStoreOptions).toConstantValue(options);
      // Loaded here, not at the top: every command loads every descriptor, only this one's users need the store.
      const { FileCertStore } = require('./file-cert-store') as typeof import('./file-cert-store');
      bind(CertStore).to(FileCertStore);
    });
  },
  location: (options) => options.dir,
  // A --from-dir/--to-dir wins over file.dir and the environment, as CERTCTL_FILE_DIR does.
  withDirectory: (config, dir) => ({ ...config, env: { ...config.env, CERTCTL_FILE_DIR: resolve(dir) } }),
};
