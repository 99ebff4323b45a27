import { X509Certificate, type KeyObject } from 'node:crypto';
import { inject, injectable } from 'inversify';
import { CertStore } from './cert-store';
import { ResolvedConfig } from './config/load';
import { ConflictError, InvalidInputError, NotFoundError } from './errors';
import { generateEncodedKey } from './key-encoding';
import { encryptPrivateKey, readPrivateKey } from './keys';
import { PassphraseSource } from './secrets';
import { newSerial, serialFromHex } from './serial';
import type { CaSpec, CreatedCa, LeafSpec, Signer } from './signer';
import type { CaRecord, CertificateRecord } from './types';
import { certificateParts } from './x509/der-reader';
import { buildCertificateDer, type CertificateTemplate } from './x509/certificate-builder';
import { buildCrlDer } from './x509/crl-builder';
import { encodeName } from './x509/fields';
import { encodeSubject } from './x509/subject';
import { pemBlocks, toPem } from './x509/pem';
import { createDerSigner, keyIdentifier, type DerSigner } from './x509/signing';

/** A CA loaded for signing: its key lives only in this object, only in memory. */
interface LoadedCa {
  record: CaRecord;
  subjectDer: Buffer;
  subjectKeyId: Buffer;
  notAfter: Date;
  signer: DerSigner;
}

/**
 * Signs with a CA key kept by the configured CertStore (file, Barbican): the key is
 * fetched into memory for this process only and never written anywhere else.
 * Backend-neutral, so it lives in the core (DESIGN.md "Two interfaces").
 */
@injectable()
export class LocalSigner implements Signer {
  readonly kind = 'local';
  private readonly loaded = new Map<string, LoadedCa>();

  constructor(
    @inject(CertStore) private readonly store: CertStore,
    @inject(ResolvedConfig) private readonly config: ResolvedConfig,
    @inject(PassphraseSource) private readonly passphrase: PassphraseSource,
  ) {}

  async createCa(spec: CaSpec): Promise<CreatedCa> {
    if (await this.store.getCa(spec.name)) {
      throw new ConflictError(`CA "${spec.name}" already exists in the ${this.store.kind} store; choose another --ca name`);
    }
    const parent = spec.parent ? await this.load(spec.parent) : undefined;
    const key = await generateEncodedKey(spec.keyType);
    const spkiDer = key.spkiDer;
    const subjectDer = encodeName([{ type: 'CN', value: spec.commonName }]);
    const notAfter = parent && spec.notAfter > parent.notAfter ? parent.notAfter : spec.notAfter;
    const template: CertificateTemplate = {
      serial: newSerial(),
      issuerDer: parent ? parent.subjectDer : subjectDer,
      subjectDer,
      notBefore: spec.notBefore,
      notAfter,
      spkiDer,
      basicConstraints: parent ? { ca: true, pathLen: 0 } : { ca: true },
      keyUsage: ['keyCertSign', 'cRLSign'],
      extKeyUsage: [],
      subjectKeyId: keyIdentifier(spkiDer),
      authorityKeyId: parent?.subjectKeyId,
      dnsNames: [],
      ipAddresses: [],
      crlUrls: parent ? this.config.urls.crl : undefined,
      issuingCaUrls: parent ? this.config.urls.issuingCa : undefined,
    };
    const der = buildCertificateDer(template, parent ? parent.signer : createDerSigner(key.privateKey()));
    const certPem = toPem(der, 'CERTIFICATE');
    const record = {
      name: spec.name,
      certPem,
      chainPem: parent ? [parent.record.certPem, ...parent.record.chainPem] : [],
      parent: spec.parent,
      keyType: spec.keyType,
      keyEncrypted: spec.passphrase !== undefined,
      createdAt: new Date().toISOString(),
    };
    const keyPem = spec.passphrase !== undefined ? encryptPrivateKey(key.privateKey(), spec.passphrase) : key.pkcs8Pem;
    return { record, keyPem };
  }

  async sign(ca: string, specs: LeafSpec[]): Promise<Buffer[]> {
    const loaded = await this.load(ca);
    const { crl, issuingCa } = this.config.urls;
    return specs.map((spec) =>
      buildCertificateDer(
        {
          serial: spec.serial,
          issuerDer: loaded.subjectDer,
          subjectDer: encodeSubject(spec.commonName, spec.subject),
          notBefore: spec.notBefore,
          notAfter: spec.notAfter,
          spkiDer: spec.spkiDer,
          basicConstraints: spec.basicConstraints,
          keyUsage: spec.keyUsage,
          extKeyUsage: spec.extKeyUsage,
          subjectKeyId: keyIdentifier(spec.spkiDer),
          authorityKeyId: loaded.subjectKeyId,
          dnsNames: spec.dnsNames,
          ipAddresses: spec.ipAddresses,
          uris: spec.uris,
          emails: spec.emails,
          crlUrls: crl,
          issuingCaUrls: issuingCa,
        },
        loaded.signer,
      ),
    );
  }

  async crl(ca: string, revoked: CertificateRecord[]): Promise<string> {
    const loaded = await this.load(ca);
    const crlNumber = await this.store.nextCrlNumber(ca);
    const now = new Date(Math.floor(Date.now() / 1000) * 1000);
    const der = buildCrlDer(
      {
        issuerDer: loaded.subjectDer,
        thisUpdate: now,
        nextUpdate: new Date(now.getTime() + this.config.crlValiditySeconds * 1000),
        crlNumber,
        authorityKeyId: loaded.subjectKeyId,
        entries: revoked.map((r) => ({
          serial: serialFromHex(r.serial),
          revokedAt: new Date(r.revokedAt ?? now),
          reason: r.revocationReason,
        })),
      },
      loaded.signer,
    );
    return toPem(der, 'X509 CRL');
  }

  /** Loads the CA certificate and decrypts its key, once per process. */
  private async load(ca: string): Promise<LoadedCa> {
    const cached = this.loaded.get(ca);
    if (cached) return cached;
    const record = await this.store.getCa(ca);
    if (!record)
      throw new NotFoundError(`no CA named "${ca}" in the ${this.store.kind} store; create it with \`certctl init --cn NAME\` or pick another with --ca`);
    const keyPem = await this.store.getCaKey(ca);
    const key: KeyObject = readPrivateKey(keyPem, record.keyEncrypted ? this.passphrase.get() : undefined, `the key of CA "${ca}"`);
    const der = pemBlocks(record.certPem, 'CERTIFICATE')[0];
    const parts = certificateParts(der);
    const x509 = new X509Certificate(der);
    if (!x509.checkPrivateKey(key)) {
      throw new InvalidInputError(`the stored key of CA "${ca}" does not match its certificate; the store is inconsistent`);
    }
    const loaded: LoadedCa = {
      record,
      subjectDer: parts.subjectDer,
      subjectKeyId: parts.subjectKeyId ?? keyIdentifier(parts.spkiDer),
      notAfter: new Date(x509.validTo),
      signer: createDerSigner(key),
    };
    this.loaded.set(ca, loaded);
    return loaded;
  }
}
