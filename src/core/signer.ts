import type { KeyObject } from 'node:crypto';
import type { CertStore } from './cert-store';
import type { CaRecord, CertificateRecord, KeyType } from './types';
import type { ExtKeyUsageName, KeyUsageName } from './x509/certificate-builder';

/** A certificate the core has built and checked against policy, ready for a signer. */
export interface LeafSpec {
  serial: Buffer;
  commonName: string;
  dnsNames: string[];
  ipAddresses: string[];
  notBefore: Date;
  notAfter: Date;
  keyType: KeyType;
  /** SubjectPublicKeyInfo DER of the certified key. */
  spkiDer: Buffer;
  keyUsage: KeyUsageName[];
  extKeyUsage: ExtKeyUsageName[];
  basicConstraints: { ca: boolean; pathLen?: number };
  /** The CSR this came from, for signers that need one (e.g. Vault's sign-verbatim). */
  csrDer?: Buffer;
  /** The subject's private key when certctl generated it, so a remote signer can build a CSR. */
  subjectKey?: () => KeyObject;
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
}

/** A new CA: its record and, when the signer does not keep keys itself, the key PEM for the store. */
export interface CreatedCa {
  record: CaRecord;
  keyPem?: string;
  /** What the signer did on the way (mounts enabled, roles created), for the operator. */
  notes?: string[];
}

/**
 * Holds or reaches the CA key (DESIGN.md "Two interfaces"). The core builds and
 * checks every request first; a signer only signs.
 */
export interface Signer {
  /** The signer's type name, for messages. */
  readonly kind: string;
  /**
   * True when the remote CA picks serial numbers and validity itself (Vault): the core then
   * records what the signed certificate says, not what the LeafSpec asked for.
   */
  readonly assignsSerials?: boolean;
  /**
   * Set by a remote signer that makes one request per certificate (Vault): how many requests it
   * wants in flight. The core then hands it one certificate at a time with that many in flight
   * and makes each key just before its request, so key generation overlaps the server's work
   * instead of preceding it. Without it, the core signs in batches (the local signer).
   */
  readonly inFlight?: number;
  /** Optional capability: warnings the remote CA returned since the last call (e.g. a capped TTL). */
  takeWarnings?(): string[];
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
  /** Optional capability: tells a remote CA about a revocation (Vault keeps its own CRL). */
  revoke?(ca: string, serial: string): Promise<void>;
  /**
   * Optional capability: receives the configured store, for a remote signer that must read it
   * (Vault revoking by PEM a certificate signed before its CA key was moved into Vault).
   */
  attachStore?(store: CertStore): void;
  /** Optional capability: every serial the remote CA has signed, canonical hex, for cross-checking the store. */
  issuedSerials?(): Promise<Set<string>>;
}

/** inversify token of {@link Signer}. */
export const Signer = Symbol.for('certctl.Signer');
