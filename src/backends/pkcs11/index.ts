import { ContainerModule } from 'inversify';
import type { BackendDescriptor } from '../../core/backend';
import { CaKeys } from '../../core/ca-keys';
import { Signer } from '../../core/signer';
import type { Pkcs11Options } from './options';

/**
 * A PKCS#11 token (an HSM, a smart card, SoftHSM2) holds the CA keys and makes every CA
 * signature; the core's certificate and CRL building runs on top, and the configured store
 * (`store: file`, `vault-kv`, `barbican`) keeps the rest.
 */
export const pkcs11Backend: BackendDescriptor<Pkcs11Options> = {
  name: 'pkcs11',
  aliases: [],
  summary: 'a PKCS#11 token (HSM) holds the CA key and signs; use with store: file, vault-kv or barbican',
  section: 'pkcs11',
  provides: { store: false, signer: true },
  capabilities: { store: [], signer: ['caKeyImport', 'caKeySigning'] },
  // Loaded on use: every command loads every descriptor, and option parsing is only for the chosen backends.
  parseOptions: (config) => (require('./options') as typeof import('./options')).parsePkcs11Options(config),
  module(options) {
    // Loaded here: every command loads every descriptor, only the token's users need the native addon.
    const { Pkcs11Token } = require('./token') as typeof import('./token');
    const { TokenCaKeys, Pkcs11TokenToken } = require('./token-ca-keys') as typeof import('./token-ca-keys');
    const { Pkcs11Signer } = require('./pkcs11-signer') as typeof import('./pkcs11-signer');
    const { Pkcs11Options: Pkcs11OptionsToken } = require('./options') as typeof import('./options');
    return new ContainerModule(({ bind }) => {
      bind(Pkcs11OptionsToken).toConstantValue(options);
      bind(Pkcs11TokenToken).toDynamicValue(() => new Pkcs11Token(options));
      bind(CaKeys).to(TokenCaKeys);
      bind(Signer).to(Pkcs11Signer);
    });
  },
};
