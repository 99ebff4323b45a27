import type { ClaimOutcome, StateRecord, StateWriteOptions } from './state-store';
import type { CaRecord, CertificateRecord, IssuedCertificate, ListFilter, RevocationReason } from './types';

/** An audit event a store keeps beside the inventory. */
export interface AuditEvent {
  at: string;
  action: 'ca.create' | 'issue' | 'revoke' | 'crl' | 'token.create';
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
 * Capability: the store keeps what it read (records, the inventory) for the object's life and sees
 * only its own writes; a long-running caller (certctl serve) drops those caches now and then so
 * changes made by other processes (a `certctl revoke` beside the server) are seen.
 */
export interface CachingStore extends CertStore {
  /** Forgets everything read so far; the next call reads the backend again. */
  dropCaches(): void;
}

/**
 * Capability: records of server state (`certctl serve`'s enrollment tokens; ACME accounts, orders
 * and nonces), shared by every process and server instance over the store, with the atomic
 * operations one-time use needs: create-once, compare-and-set, and a claim exactly one caller
 * wins. Namespaced (`ns`), keyed by `id` (both checked by state-store.ts checkStateKey), kept
 * apart from the CAs (a store's CA listing never shows them). Values are JSON. A store that cannot
 * make these atomic across instances (Barbican has no compare-and-set) does not declare it.
 * Every method throws InvalidInputError for a bad `ns` or `id`, and the store's own errors.
 */
export interface StateStore extends CertStore {
  /**
   * Creates a record, once: of several concurrent creators of one id exactly one succeeds.
   * @throws ConflictError when the record exists (even used up or expired).
   */
  createState<T>(ns: string, id: string, value: T, options?: StateWriteOptions): Promise<StateRecord<T>>;
  /** The record, used up or expired ones too (state-store.ts isExpired tells), or undefined. */
  getState<T>(ns: string, id: string): Promise<StateRecord<T> | undefined>;
  /**
   * Replaces a record's value only if it is still at `version` (compare-and-set); `options.expiresAt`
   * replaces the expiry, else it is kept; a claim is kept. Returns the record as written.
   * @throws ConflictError when another writer (or a claim) changed it since `version`; NotFoundError when absent.
   */
  updateState<T>(ns: string, id: string, value: T, version: number, options?: StateWriteOptions): Promise<StateRecord<T>>;
  /** Removes a record; an absent one is no error. */
  deleteState(ns: string, id: string): Promise<void>;
  /**
   * Uses a record up, atomically: of concurrent callers in any process or server instance over this
   * store exactly one gets `claimed: true`; the others, and every later caller, `used`. An expired
   * record is not claimed (`expired`), an unknown one is `absent`. The record stays, marked, so a
   * replay is told apart from a made-up id until pruneState removes it.
   */
  claimState<T>(ns: string, id: string, now?: Date): Promise<ClaimOutcome<T>>;
  /** Removes the records of a namespace whose expiry is before `before`; returns how many went. */
  pruneState(ns: string, before: Date): Promise<number>;
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
export type StoreCapability = 'raiseCrlNumber' | 'deleteCa' | 'audit' | 'removeCaKey' | 'cachesReads' | 'state' | 'revocationVersion';

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

/** Whether the store is a {@link CachingStore}. */
export function cachesReads(s: CertStore): s is CachingStore {
  return typeof (s as Partial<CachingStore>).dropCaches === 'function';
}

/** Whether the store is a {@link StateStore}. */
export function keepsState(s: CertStore): s is StateStore {
  return typeof (s as Partial<StateStore>).claimState === 'function';
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
    ['cachesReads', cachesReads(s)],
    ['state', keepsState(s)],
    ['revocationVersion', tracksRevocations(s)],
  ];
  return found.filter(([, has]) => has).map(([name]) => name);
}
