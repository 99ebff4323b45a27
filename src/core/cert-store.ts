import type { CaRecord, CertificateRecord, IssuedCertificate, ListFilter, RevocationReason } from './types';

/** An audit event a store keeps beside the inventory. */
export interface AuditEvent {
  at: string;
  action: 'ca.create' | 'issue' | 'revoke' | 'crl';
  ca: string;
  serials?: string[];
  detail?: Record<string, unknown>;
}

/**
 * Keeps CA material, issued certificates, leaf private keys and the inventory
 * (DESIGN.md "Two interfaces"). Implementations translate their native errors into
 * CertctlError kinds and never decide policy. What only some stores do is a capability below,
 * detected at run time with its guard.
 */
export interface CertStore {
  /** The store's type name, for messages (`file`, `barbican`, `vault-kv`). */
  readonly kind: string;
  /** The CA's public record, or undefined when no CA of that name exists. */
  getCa(ca: string): Promise<CaRecord | undefined>;
  /** Names of every CA in the store. */
  listCas(): Promise<string[]>;
  /**
   * Creates a CA with its key PEM (as given: encrypted or not; absent when the signer keeps the key).
   * @throws ConflictError when a CA of that name exists.
   */
  createCa(record: CaRecord, keyPem?: string): Promise<void>;
  /**
   * The CA key PEM exactly as stored.
   * @throws NotFoundError when the CA or its key is absent.
   */
  getCaKey(ca: string): Promise<string>;
  /**
   * Stores issued certificates all-or-nothing: after a failure none of them is visible.
   * @throws ConflictError when a serial is already in the store.
   */
  putIssued(ca: string, items: IssuedCertificate[]): Promise<void>;
  /** Inventory record and certificate PEM, or undefined for an unknown serial. */
  get(ca: string, serial: string): Promise<{ record: CertificateRecord; certPem: string } | undefined>;
  /** Leaf private key PEM, or undefined when the store has none for that serial. */
  getKey(ca: string, serial: string): Promise<string | undefined>;
  /** Inventory records, oldest first, filtered. */
  list(ca: string, filter?: ListFilter): Promise<CertificateRecord[]>;
  /**
   * Marks certificates revoked, all or none, and returns their updated records in order.
   * @throws NotFoundError for an unknown serial; ConflictError when one is already revoked or listed twice.
   */
  markRevoked(ca: string, serials: string[], reason: RevocationReason, at: Date): Promise<CertificateRecord[]>;
  /** Allocates the next CRL number (monotonic per CA). */
  nextCrlNumber(ca: string): Promise<bigint>;
}

/** inversify token of {@link CertStore}. */
export const CertStore = Symbol.for('certctl.CertStore');

/**
 * Capability: the CRL counter can be raised to a given value, so a CA moved by `certctl migrate`
 * keeps numbering its CRLs past the source's.
 */
export interface CrlNumberRaisingStore extends CertStore {
  /**
   * Raises the CA's CRL counter to at least `atLeast`, never lowering it, and returns the counter
   * as it then stands (`atLeast` 0 reads it without writing).
   * @throws NotFoundError when the CA does not exist.
   */
  raiseCrlNumber(ca: string, atLeast: bigint): Promise<bigint>;
}

/** Capability: a CA can be removed with everything of it, for `certctl migrate --delete-source`. */
export interface CaDeletingStore extends CertStore {
  /**
   * Removes the CA and everything of it from this store (its record and key, every certificate,
   * leaf key, inventory record and the CRL counter). Only this store's objects: a signer keeping
   * the CA key elsewhere (Vault PKI's issuer) is not touched. The CA's record goes last, so a run
   * that fails midway leaves the CA listed and a second call finishes the job.
   * @throws NotFoundError when the store holds nothing of that CA.
   */
  deleteCa(ca: string): Promise<void>;
}

/** Capability: the CA key alone can be removed, once a signer holds it (`migrate --import-ca-key --signer`). */
export interface CaKeyRemovingStore extends CertStore {
  /**
   * Removes the CA's key from this store, leaving its record, certificates and inventory; a
   * second call is no error.
   * @throws NotFoundError when the store has no such CA.
   */
  removeCaKey(ca: string): Promise<void>;
}

/** Capability: the store keeps an audit trail beside the inventory. */
export interface AuditingStore extends CertStore {
  recordEvent(event: AuditEvent): Promise<void>;
}

/**
 * Capability: a cheap token of a CA's revocations, so a cache of what depends on them (the
 * server's CRL and OCSP answers) can check on every request that no process sharing the store
 * revoked anything since the cache was filled: one small read instead of the inventory.
 */
export interface RevocationVersionStore extends CertStore {
  /**
   * A value that changes whenever a certificate of the CA is revoked, by this or any other process
   * over the same store, and stays the same otherwise (issuing does not change it). A store
   * changes it only after the revocation is readable, so a reader that sees the new value reads
   * the new state. A CA nothing was ever revoked in may give any fixed value.
   * @throws NotFoundError when the CA does not exist.
   */
  revocationVersion(ca: string): Promise<string>;
}

/** The names of the store capabilities, as backend descriptors declare them. */
export type StoreCapability = 'raiseCrlNumber' | 'deleteCa' | 'audit' | 'removeCaKey' | 'revocationVersion';

/** Whether the store is a {@link CrlNumberRaisingStore}. */
export function canRaiseCrlNumber(s: CertStore): s is CrlNumberRaisingStore {
  return typeof (s as Partial<CrlNumberRaisingStore>).raiseCrlNumber === 'function';
}

/** Whether the store is a {@link CaDeletingStore}. */
export function canDeleteCa(s: CertStore): s is CaDeletingStore {
  return typeof (s as Partial<CaDeletingStore>).deleteCa === 'function';
}

/** Whether the store is a {@link CaKeyRemovingStore}. */
export function canRemoveCaKey(s: CertStore): s is CaKeyRemovingStore {
  return typeof (s as Partial<CaKeyRemovingStore>).removeCaKey === 'function';
}

/** Whether the store is an {@link AuditingStore}. */
export function keepsAudit(s: CertStore): s is AuditingStore {
  return typeof (s as Partial<AuditingStore>).recordEvent === 'function';
}

/** Whether the store is a {@link RevocationVersionStore}. */
export function tracksRevocations(s: CertStore): s is RevocationVersionStore {
  return typeof (s as Partial<RevocationVersionStore>).revocationVersion === 'function';
}

/** The capabilities a store object has, by the guards above (checked against descriptors in tests). */
export function storeCapabilities(s: CertStore): StoreCapability[] {
  const found: [StoreCapability, boolean][] = [
    ['raiseCrlNumber', canRaiseCrlNumber(s)],
    ['deleteCa', canDeleteCa(s)],
    ['audit', keepsAudit(s)],
    ['removeCaKey', canRemoveCaKey(s)],
    ['revocationVersion', tracksRevocations(s)],
  ];
  return found.filter(([, has]) => has).map(([name]) => name);
}
