import { inject, injectable } from 'inversify';
import { CaKeys } from '../../core/ca-keys';
import { CertStore } from '../../core/cert-store';
import { ResolvedConfig } from '../../core/config/load';
import { LocalSigner } from '../../core/local-signer';
import type { CaKeyImportingSigner } from '../../core/signer';
import type { CaRecord } from '../../core/types';
import { TokenCaKeys } from './token-ca-keys';

/**
 * The core's LocalSigner over CA keys in a PKCS#11 token: the same certificates and CRLs, every
 * CA signature made by the token. It can also take over a CA key certctl held
 * (`migrate --import-ca-key --signer pkcs11`).
 */
@injectable()
export class Pkcs11Signer extends LocalSigner implements CaKeyImportingSigner {
  override readonly kind = 'pkcs11';

  constructor(
    @inject(CertStore) store: CertStore,
    @inject(ResolvedConfig) config: ResolvedConfig,
    @inject(CaKeys) private readonly tokenKeys: TokenCaKeys,
  ) {
    super(store, config, tokenKeys);
  }

  get importTarget(): string {
    return this.tokenKeys.where;
  }

  async checkAdoptable(record: CaRecord): Promise<void> {
    this.tokenKeys.checkImportable(record);
  }

  async adoptCa(record: CaRecord, keyPem: string): Promise<string[]> {
    return this.tokenKeys.importKey(record, keyPem);
  }
}
