import { InvalidInputError } from './errors';

/**
 * The records of the StateStore capability: small JSON documents of
 * server state (enrollment tokens; ACME accounts, orders, nonces) that every process and server
 * instance over one store shares. The interface is in cert-store.ts with the other capabilities;
 * what every implementation shares is here, so the backends decide alike.
 */

/** One record as a store returns it. */
export interface StateRecord<T = unknown> {
  value: T;
  /** Grows with every write (create is 1); what updateState's compare-and-set names. */
  version: number;
  /** ISO time after which the record is spent: claimState refuses it, pruneState removes it. */
  expiresAt?: string;
  /** ISO time claimState used the record up; absent while unused. */
  claimedAt?: string;
}

/** Options of a write: when the record stops being good, and whether it must survive a crash. */
export interface StateWriteOptions {
  expiresAt?: Date;
  /**
   * false: the store may skip flushing this write to stable storage (the file store's fsync), so a
   * crash can lose it — for records a client simply asks again for (ACME nonces, orders and
   * authorizations), never for what makes a promise (tokens, accounts). Atomicity is kept either way.
   */
  durable?: boolean;
}

/** What StateStore.claimState (cert-store.ts) found: this caller won, or why not. */
export type ClaimOutcome<T = unknown> =
  { claimed: true; record: StateRecord<T> } | { claimed: false; reason: 'absent' } | { claimed: false; reason: 'used' | 'expired'; record: StateRecord<T> };

/**
 * Namespaces and ids become file names and Vault KV path segments: base64url characters and
 * dots, not starting with a dot (the file store's temporary names do), at most 200 characters.
 */
const STATE_KEY = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$/;

/**
 * Checks a namespace and id (when given) before a store uses them in a path.
 * @throws InvalidInputError naming the bad part (never the id itself: it may be a client's handle).
 */
export function checkStateKey(ns: string, id?: string): void {
  if (!STATE_KEY.test(ns)) throw new InvalidInputError(`state namespace "${ns}" is not letters, digits, ".", "_" or "-" (at most 200, not starting with ".")`);
  if (id !== undefined && !STATE_KEY.test(id))
    throw new InvalidInputError(`state id in "${ns}" is not letters, digits, ".", "_" or "-" (at most 200, not starting with ".")`);
}

/** Whether a record's expiry has passed at `now`. */
export function isExpired(record: Pick<StateRecord, 'expiresAt'>, now: Date): boolean {
  return record.expiresAt !== undefined && Date.parse(record.expiresAt) <= now.getTime();
}

/**
 * What a claim does with the record it read: refuse it (used, expired) or use it up. Every store
 * decides with this, then writes the claimed record only if nobody wrote in between.
 */
export function claimDecision(record: StateRecord, now: Date): 'used' | 'expired' | 'claim' {
  if (record.claimedAt !== undefined) return 'used';
  return isExpired(record, now) ? 'expired' : 'claim';
}

/** The stored form of a record's fields besides its version (which the backend keeps its own way). */
export function stateBody<T>(value: T, options: StateWriteOptions = {}, claimedAt?: string): Omit<StateRecord<T>, 'version'> {
  return {
    value,
    ...(options.expiresAt ? { expiresAt: options.expiresAt.toISOString() } : {}),
    ...(claimedAt ? { claimedAt } : {}),
  };
}
