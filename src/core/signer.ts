import type { CaRecord, CertificateRecord, KeyType } from './types';
import type { ExtKeyUsageName, KeyUsageName } from './x509/certificate-builder';
import type { NameConstraints } from './x509/name-constraints';
import type { DerSigner } from './x509/signing';
import type { SubjectAttributes } from './x509/subject';

/** A certificate the core has built and checked against policy, ready for a signer. */
export interface LeafSpec {
  serial: Buffer;
  commonName: string;
  /** Subject attributes besides CN (O, OU, C, ST, L, serialNumber), checked against the profile. */
  subject?: SubjectAttributes;
  dnsNames: string[];
  ipAddresses: string[];
  /** URI and email SANs, checked against the profile. */
  uris?: string[];
  emails?: string[];
  notBefore: Date;
  notAfter: Date;
  keyType: KeyType;
  /** SubjectPublicKeyInfo DER of the certified key. */
  spkiDer: Buffer;
  keyUsage: KeyUsageName[];
  extKeyUsage: ExtKeyUsageName[];
  basicConstraints: { ca: boolean; pathLen?: number };
  /** id-pkix-ocsp-nocheck (the `ocsp` profile): relying parties skip the revocation check of this OCSP responder certificate. */
  ocspNoCheck?: boolean;
  /**
   * A PKCS#10 request for the certified key, for a {@link RemoteSigner} (a remote CA takes the key
   * from a CSR). The core builds it, from the operator's CSR or with the key it generated, so no
   * private key ever crosses the Signer boundary. Absent for the local signer, which needs only `spkiDer`.
   */
  csrDer?: Buffer;
}

/** What `init` asks of a signer. */
export interface CaSpec {
  name: string;
  commonName: string;
  keyType: KeyType;
  notBefore: Date;
  notAfter: Date;
  /** For an intermediate: the parent CA that signs it. */
  parent?: string;
  /** Passphrase to encrypt the new CA key with, when the signer hands the key to a store. */
  passphrase?: string;
  /**
   * Use the existing key of this label instead of generating one (`init --key-label`), for a
   * signer that keeps keys by label (a PKCS#11 token). Other signers refuse it (NotSupportedError).
   */
  existingKeyLabel?: string;
  /**
   * For an intermediate: a critical NameConstraints extension, already validated by the core.
   * A signer that cannot write all of it throws NotSupportedError naming what, before creating anything.
   */
  nameConstraints?: NameConstraints;
}

/** A new CA: its record and, when the signer does not keep keys itself, the key PEM for the store. */
export interface CreatedCa {
  record: CaRecord;
  keyPem?: string;
  /** What the signer did on the way (mounts enabled, roles created), for the operator. */
  notes?: string[];
}

/**
 * Holds or reaches the CA key (DESIGN.md "Two interfaces"). The core builds and checks every
 * request first; a signer only signs. The required members are all every signer has; what only
 * some signers do is a capability below, detected at run time with its guard.
 */
export interface Signer {
  /** The signer's type name, for messages (`local`, `vault-pki`). */
  readonly kind: string;
  /**
   * Creates a root CA, or an intermediate signed by `spec.parent`.
   * @throws ConflictError when the CA exists; NotFoundError when the parent does not.
   */
  createCa(spec: CaSpec): Promise<CreatedCa>;
  /**
   * Signs certificates for `ca`, in order; returns their DER.
   * @throws NotFoundError when the CA is absent; InvalidInputError for a wrong CA passphrase.
   */
  sign(ca: string, specs: LeafSpec[]): Promise<Buffer[]>;
  /** A PEM CRL listing every revoked certificate given. */
  crl(ca: string, revoked: CertificateRecord[]): Promise<string>;
}

/** inversify token of {@link Signer}. */
export const Signer = Symbol.for('certctl.Signer');

/**
 * Capability: a remote CA that signs one request per certificate (Vault). The core then hands it
 * one certificate per call with `inFlight` calls in flight, making each key just before its
 * request so key generation overlaps the server's work; passes `LeafSpec.csrDer`; and checks every
 * certificate it returns against the request before storing it (core/x509/signed-check.ts). The
 * remote CA may pick the serial itself: the core records what the certificate says.
 */
export interface RemoteSigner extends Signer {
  readonly inFlight: number;
}

/** Capability: warnings the remote CA returned since the last call (e.g. a capped TTL). */
export interface WarningSigner extends Signer {
  takeWarnings(): string[];
}

/** Capability: a CA that keeps its own revocation list and must be told of each revocation (Vault). */
export interface RevokingSigner extends Signer {
  /**
   * Tells the CA that `serial` is revoked; revoking twice is no error.
   * @throws NotFoundError when the CA cannot revoke a serial it does not know.
   */
  revoke(ca: string, serial: string): Promise<void>;
}

/** Capability: the CA keeps a list of what it signed, for cross-checking the store's inventory. */
export interface SerialListingSigner extends Signer {
  /** Every serial the CA has signed, canonical hex (`list`). */
  issuedSerials(): Promise<Set<string>>;
  /** Whether the CA knows one serial: one lookup instead of the whole list (`show`). */
  hasIssued(serial: string): Promise<boolean>;
}

/** Capability: takes over a CA key certctl held (`migrate --import-ca-key`), so it signs from then on. */
export interface CaKeyImportingSigner extends Signer {
  /** For messages, e.g. `Vault PKI (pki/)`. */
  readonly importTarget: string;
  /**
   * Checks, writing nothing, that the CA can be imported.
   * @throws ConflictError when another CA of that name is there.
   */
  checkAdoptable(record: CaRecord): Promise<void>;
  /**
   * Imports the CA certificate with its unencrypted key PEM; idempotent.
   * @returns notes for the operator.
   */
  adoptCa(record: CaRecord, keyPem: string): Promise<string[]>;
}

/**
 * Capability: signs data the core built with the CA key itself — OCSP responses signed by the CA
 * (RFC 6960 4.2.2.2). A remote CA signs only what it builds (certificates, its CRL), so it lacks
 * this, and OCSP over it goes through a delegated responder certificate the CA issues.
 */
export interface CaKeySigningSigner extends Signer {
  /**
   * A synchronous signer over the CA's key; the key stays where the signer keeps it (this
   * process's memory, or a token). For OCSP responses only: never hand it a certificate or CRL.
   * @throws NotFoundError when the CA is absent; what loading its key throws (a wrong passphrase: InvalidInputError).
   */
  caKeySigner(ca: string): Promise<DerSigner>;
}

/** The names of the signer capabilities, as backend descriptors declare them. */
export type SignerCapability = 'remote' | 'warnings' | 'revoke' | 'issuedSerials' | 'caKeyImport' | 'caKeySigning';

/** Whether the signer is a {@link RemoteSigner}. */
export function isRemoteSigner(s: Signer): s is RemoteSigner {
  return typeof (s as Partial<RemoteSigner>).inFlight === 'number';
}

/** Whether the signer is a {@link WarningSigner}. */
export function reportsWarnings(s: Signer): s is WarningSigner {
  return typeof (s as Partial<WarningSigner>).takeWarnings === 'function';
}

/** Whether the signer is a {@link RevokingSigner}. */
export function canRevoke(s: Signer): s is RevokingSigner {
  return typeof (s as Partial<RevokingSigner>).revoke === 'function';
}

/** Whether the signer is a {@link SerialListingSigner}. */
export function listsIssuedSerials(s: Signer): s is SerialListingSigner {
  const c = s as Partial<SerialListingSigner>;
  return typeof c.issuedSerials === 'function' && typeof c.hasIssued === 'function';
}

/** Whether the signer is a {@link CaKeyImportingSigner}. */
export function canImportCaKey(s: Signer): s is CaKeyImportingSigner {
  const c = s as Partial<CaKeyImportingSigner>;
  return typeof c.adoptCa === 'function' && typeof c.checkAdoptable === 'function';
}

/** Whether the signer is a {@link CaKeySigningSigner}. */
export function signsWithCaKey(s: Signer): s is CaKeySigningSigner {
  return typeof (s as Partial<CaKeySigningSigner>).caKeySigner === 'function';
}

/** The capabilities a signer object has, by the guards above (checked against descriptors in tests). */
export function signerCapabilities(s: Signer): SignerCapability[] {
  const found: [SignerCapability, boolean][] = [
    ['remote', isRemoteSigner(s)],
    ['warnings', reportsWarnings(s)],
    ['revoke', canRevoke(s)],
    ['issuedSerials', listsIssuedSerials(s)],
    ['caKeyImport', canImportCaKey(s)],
    ['caKeySigning', signsWithCaKey(s)],
  ];
  return found.filter(([, has]) => has).map(([name]) => name);
}
