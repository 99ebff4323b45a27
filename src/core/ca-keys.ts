import { X509Certificate } from 'node:crypto';
import { inject, injectable } from 'inversify';
import { CertStore } from './cert-store';
import { InvalidInputError, NotSupportedError } from './errors';
import { generateEncodedKey } from './key-encoding';
import { encryptPrivateKey, readPrivateKey } from './keys';
import { PassphraseSource } from './secrets';
import type { CaSpec } from './signer';
import type { CaRecord } from './types';
import { createDerSigner, type DerSigner } from './x509/signing';

/** A CA key just made (or adopted) by a {@link CaKeys}: what LocalSigner needs to build the CA certificate. */
export interface NewCaKey {
  /** SubjectPublicKeyInfo DER of the CA key. */
  spkiDer: Buffer;
  /** Signs with the CA key (the self-signature of a root). */
  signer: DerSigner;
  /** The key PEM for the store (encrypted when `keyEncrypted`); absent when the key lives elsewhere (a token). */
  keyPem?: string;
  keyEncrypted: boolean;
  /** What was done on the way (e.g. the token and label of the key), for the operator. */
  notes?: string[];
}

/**
 * Where the core's LocalSigner gets its CA keys (ARCHITECTURE.md "The key source"): by default
 * the configured CertStore ({@link StoreCaKeys}); a backend may bind another source (a PKCS#11
 * token) so LocalSigner builds the same certificates and CRLs while the key stays where it is.
 */
export interface CaKeys {
  /** Where the keys live, for messages (`the file store`, `PKCS#11 token "certctl"`). */
  readonly where: string;
  /**
   * Makes the key of a new CA (or takes the existing one `spec.existingKeyLabel` names).
   * @throws NotSupportedError for a key type or an existing key the source cannot use;
   *   ConflictError when a key for that CA is already there.
   */
  create(spec: CaSpec): Promise<NewCaKey>;
  /**
   * The signer of an existing CA, checked against its certificate.
   * @throws NotFoundError when the key is absent; InvalidInputError when it does not match the
   *   certificate or cannot be decrypted.
   */
  load(record: CaRecord): Promise<DerSigner>;
}

/** inversify token of {@link CaKeys}; the core container binds {@link StoreCaKeys} unless a backend bound one. */
export const CaKeys = Symbol.for('certctl.CaKeys');

/**
 * The default key source: a key generated in this process and kept by the CertStore (encrypted
 * with the CA passphrase when one is set), read back into memory for signing.
 */
@injectable()
export class StoreCaKeys implements CaKeys {
  constructor(
    @inject(CertStore) private readonly store: CertStore,
    @inject(PassphraseSource) private readonly passphrase: PassphraseSource,
  ) {}

  get where(): string {
    return `the ${this.store.kind} store`;
  }

  async create(spec: CaSpec): Promise<NewCaKey> {
    if (spec.existingKeyLabel !== undefined) {
      throw new NotSupportedError(
        `--key-label names a key a signer keeps by label (a hardware token); this configuration signs with keys kept in ${this.where}, so certctl generates the CA key — leave out --key-label or configure such a signer`,
      );
    }
    const key = await generateEncodedKey(spec.keyType);
    const keyEncrypted = spec.passphrase !== undefined;
    const keyPem = spec.passphrase !== undefined ? encryptPrivateKey(key.privateKey(), spec.passphrase) : key.pkcs8Pem;
    return { spkiDer: key.spkiDer, signer: createDerSigner(key.privateKey()), keyPem, keyEncrypted };
  }

  async load(record: CaRecord): Promise<DerSigner> {
    const ca = record.name;
    const keyPem = await this.store.getCaKey(ca);
    const key = readPrivateKey(keyPem, record.keyEncrypted ? this.passphrase.get() : undefined, `the key of CA "${ca}"`);
    if (!new X509Certificate(record.certPem).checkPrivateKey(key)) {
      throw new InvalidInputError(`the stored key of CA "${ca}" does not match its certificate; the store is inconsistent`);
    }
    return createDerSigner(key);
  }
}
