import { X509Certificate } from 'node:crypto';
import { inject, injectable } from 'inversify';
import { CaKeys } from './ca-keys';
import { CertStore } from './cert-store';
import { ResolvedConfig, urlsOfCa } from './config/load';
import { ConflictError, NotFoundError } from './errors';
import { newSerial, serialFromHex } from './serial';
import type { CaKeySigningSigner, CaSpec, CreatedCa, LeafSpec } from './signer';
import type { CaRecord, CertificateRecord } from './types';
import { certificateParts } from './x509/der-reader';
import { buildCertificateDer, type CertificateTemplate } from './x509/certificate-builder';
import { buildCrlDer } from './x509/crl-builder';
import { encodeName } from './x509/fields';
import { encodeSubject } from './x509/subject';
import { pemBlocks, toPem } from './x509/pem';
import { keyIdentifier, type DerSigner } from './x509/signing';

/** A CA loaded for signing: its signer (an in-memory key, or a handle to a key in a token) lives only in this object. */
interface LoadedCa {
  record: CaRecord;
  subjectDer: Buffer;
  subjectKeyId: Buffer;
  notAfter: Date;
  signer: DerSigner;
}

/**
 * Builds and signs CA certificates, leaves and CRLs with the key its {@link CaKeys} gives: by
 * default the key kept by the configured CertStore (file, Barbican), fetched into memory for this
 * process only and never written anywhere else; with a backend's key source (a PKCS#11 token) the
 * key never leaves it. Backend-neutral, so it lives in the core (DESIGN.md "Two interfaces").
 */
@injectable()
export class LocalSigner implements CaKeySigningSigner {
  readonly kind: string = 'local';
  private readonly loaded = new Map<string, LoadedCa>();

  constructor(
    @inject(CertStore) private readonly store: CertStore,
    @inject(ResolvedConfig) private readonly config: ResolvedConfig,
    @inject(CaKeys) protected readonly keys: CaKeys,
  ) {}

  async createCa(spec: CaSpec): Promise<CreatedCa> {
    if (await this.store.getCa(spec.name)) {
      throw new ConflictError(`CA "${spec.name}" already exists in the ${this.store.kind} store; choose another --ca name`);
    }
    const parent = spec.parent ? await this.load(spec.parent) : undefined;
    const key = await this.keys.create(spec);
    const spkiDer = key.spkiDer;
    const subjectDer = encodeName([{ type: 'CN', value: spec.commonName }]);
    const notAfter = parent && spec.notAfter > parent.notAfter ? parent.notAfter : spec.notAfter;
    const urls = parent ? urlsOfCa(this.config.urls, parent.record.name) : undefined;
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
      crlUrls: urls?.crl,
      issuingCaUrls: urls?.issuingCa,
      ocspUrls: urls?.ocsp,
      nameConstraints: spec.nameConstraints,
    };
    const der = buildCertificateDer(template, parent ? parent.signer : key.signer);
    const certPem = toPem(der, 'CERTIFICATE');
    const record = {
      name: spec.name,
      certPem,
      chainPem: parent ? [parent.record.certPem, ...parent.record.chainPem] : [],
      parent: spec.parent,
      keyType: spec.keyType,
      keyEncrypted: key.keyEncrypted,
      createdAt: new Date().toISOString(),
    };
    return { record, keyPem: key.keyPem, notes: key.notes };
  }

  async sign(ca: string, specs: LeafSpec[]): Promise<Buffer[]> {
    const loaded = await this.load(ca);
    const { crl, issuingCa, ocsp } = urlsOfCa(this.config.urls, ca);
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
          ocspUrls: ocsp,
          ocspNoCheck: spec.ocspNoCheck,
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

  /** The CA key's signer, loaded once per process as for certificates (OCSP responses signed by the CA). */
  async caKeySigner(ca: string): Promise<DerSigner> {
    return (await this.load(ca)).signer;
  }

  /** Loads the CA certificate and its signer from the key source (checked against the certificate), once per process. */
  private async load(ca: string): Promise<LoadedCa> {
    const cached = this.loaded.get(ca);
    if (cached) return cached;
    const record = await this.store.getCa(ca);
    if (!record)
      throw new NotFoundError(`no CA named "${ca}" in the ${this.store.kind} store; create it with \`certctl init --cn NAME\` or pick another with --ca`);
    const signer = await this.keys.load(record);
    const der = pemBlocks(record.certPem, 'CERTIFICATE')[0];
    const parts = certificateParts(der);
    const x509 = new X509Certificate(der);
    const loaded: LoadedCa = {
      record,
      subjectDer: parts.subjectDer,
      subjectKeyId: parts.subjectKeyId ?? keyIdentifier(parts.spkiDer),
      notAfter: new Date(x509.validTo),
      signer,
    };
    this.loaded.set(ca, loaded);
    return loaded;
  }
}
