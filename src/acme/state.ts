import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ConflictError } from '../core/errors';
import type { StateRecord, StateWriteOptions } from '../core/state-store';
import type { StateStore } from '../core/cert-store';
import type { AccountRecord, AuthzRecord, EabKeyRecord, IssuedByAcme, OrderRecord, RenewalOverride } from './records';

/** The namespaces of ACME's records in the store's state (SA in Boulder's split). */
const NS = {
  /** Nonces used (one record each, until they expire). */
  nonce: 'acme-nonce',
  key: 'acme-key',
  account: 'acme-account',
  accountKey: 'acme-account-key',
  order: 'acme-order',
  authz: 'acme-authz',
  issued: 'acme-issued',
  eab: 'acme-eab',
  renewal: 'acme-renewal',
} as const;

/** How long a nonce is good for. */
const NONCE_LIFETIME_S = 3600;
/** Each store's nonce key, loaded once per process. */
const nonceKeys = new WeakMap<StateStore, Promise<Buffer>>();

function mac(key: Buffer, body: Buffer): Buffer {
  return createHmac('sha256', key).update(body).digest().subarray(0, 16);
}

/** A record and the version its compare-and-set update names. */
export interface Versioned<T> {
  value: T;
  version: number;
}

/** Whether ACME issued this certificate (it is renewed over ACME, where its names are validated again, not over /v1/renew). */
export async function issuedByAcme(store: StateStore, ca: string, serial: string): Promise<boolean> {
  return (await store.getState(NS.issued, `${ca}.${serial}`)) !== undefined;
}

/** A fresh random id: 128 bits, base64url (22 characters), valid as a state id and in a URL. */
export function newId(): string {
  return randomBytes(16).toString('base64url');
}

/**
 * ACME's storage over the store's StateStore capability: every record lives in the configured
 * backend, so accounts, orders and nonces survive a restart and instances over one Vault share
 * them (create-once for keys and nonces, compare-and-set for state changes).
 */
export class AcmeState {
  constructor(private readonly store: StateStore) {}

  /**
   * A new nonce, good for an hour: 12 random bytes and the expiry, MACed with the store's nonce key
   * (shared by every instance over the store), so issuing one writes nothing.
   */
  async issueNonce(now = Date.now()): Promise<string> {
    const body = Buffer.alloc(16);
    randomBytes(12).copy(body);
    body.writeUInt32BE(Math.floor(now / 1000) + NONCE_LIFETIME_S, 12);
    return Buffer.concat([body, mac(await this.nonceKey(), body)]).toString('base64url');
  }

  /**
   * Uses a nonce up: true for the one request that presents it first, on any instance; false for a
   * replay, an expired, a forged or a made-up one. The use is recorded create-once, not flushed to
   * disk (a crash forgets uses of nonces that expire within the hour: an accepted risk, as the
   * signed requests they guard are each checked again on their own).
   */
  async consumeNonce(nonce: string, now = Date.now()): Promise<boolean> {
    const raw = /^[A-Za-z0-9_-]{43}$/.test(nonce) ? Buffer.from(nonce, 'base64url') : undefined;
    if (raw?.length !== 32) return false;
    const body = raw.subarray(0, 16);
    const expires = body.readUInt32BE(12) * 1000;
    if (!timingSafeEqual(raw.subarray(16), mac(await this.nonceKey(), body)) || expires <= now) return false;
    try {
      await this.store.createState(NS.nonce, nonce, {}, { expiresAt: new Date(expires), durable: false });
      return true;
    } catch (err) {
      if (err instanceof ConflictError) return false;
      throw err;
    }
  }

  /** The store's nonce MAC key, made once by whichever instance comes first, then read by all. */
  private nonceKey(): Promise<Buffer> {
    let key = nonceKeys.get(this.store);
    if (!key) {
      key = this.loadNonceKey();
      nonceKeys.set(this.store, key);
      key.catch(() => nonceKeys.delete(this.store));
    }
    return key;
  }

  private async loadNonceKey(): Promise<Buffer> {
    const fresh = randomBytes(32).toString('base64url');
    try {
      await this.store.createState(NS.key, 'nonce', { key: fresh });
      return Buffer.from(fresh, 'base64url');
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      const existing = await this.store.getState<{ key: string }>(NS.key, 'nonce');
      if (!existing) throw err;
      return Buffer.from(existing.value.key, 'base64url');
    }
  }

  /** Drops what has expired: nonces (used ones expire too), orders and authorizations a day past their expiry. */
  async prune(now = new Date()): Promise<number> {
    let removed = 0;
    for (const ns of [NS.nonce, NS.order, NS.authz]) removed += await this.store.pruneState(ns, now);
    return removed;
  }

  async account(id: string): Promise<Versioned<AccountRecord> | undefined> {
    return versioned(await this.store.getState<AccountRecord>(NS.account, safe(id)));
  }

  /** The account of a key (RFC 7638 thumbprint), within one CA. */
  async accountIdOfKey(ca: string, thumbprint: string): Promise<string | undefined> {
    return (await this.store.getState<{ accountId: string }>(NS.accountKey, `${ca}.${thumbprint}`))?.value.accountId;
  }

  /**
   * Records a new account and its key index; the key index is created first, once, so two
   * concurrent newAccount requests with one key make one account.
   * @throws ConflictError when the key already has an account.
   */
  async createAccount(account: AccountRecord): Promise<void> {
    await this.store.createState(NS.accountKey, `${account.ca}.${account.thumbprint}`, { accountId: account.id });
    await this.store.createState(NS.account, account.id, account);
  }

  async updateAccount(account: AccountRecord, version: number): Promise<Versioned<AccountRecord>> {
    return versioned(await this.store.updateState(NS.account, account.id, account, version))!;
  }

  /**
   * Moves an account to a new key (keyChange): the new key's index first (create-once: refused if
   * that key has an account), then the account, then the old index goes.
   * @throws ConflictError when the new key is in use, or the account changed meanwhile.
   */
  async changeAccountKey(account: AccountRecord, version: number, oldThumbprint: string): Promise<void> {
    await this.store.createState(NS.accountKey, `${account.ca}.${account.thumbprint}`, { accountId: account.id });
    await this.store.updateState(NS.account, account.id, account, version);
    await this.store.deleteState(NS.accountKey, `${account.ca}.${oldThumbprint}`);
  }

  async createOrder(order: OrderRecord, authzs: AuthzRecord[]): Promise<void> {
    const expiresAt = new Date(Date.parse(order.expires) + 86400_000);
    for (const authz of authzs) await this.store.createState(NS.authz, authz.id, authz, { expiresAt, durable: false });
    await this.store.createState(NS.order, order.id, order, { expiresAt });
  }

  async order(id: string): Promise<Versioned<OrderRecord> | undefined> {
    return versioned(await this.store.getState<OrderRecord>(NS.order, safe(id)));
  }

  async updateOrder(order: OrderRecord, version: number): Promise<Versioned<OrderRecord>> {
    return versioned(await this.store.updateState(NS.order, order.id, order, version))!;
  }

  async authz(id: string): Promise<Versioned<AuthzRecord> | undefined> {
    return versioned(await this.store.getState<AuthzRecord>(NS.authz, safe(id)));
  }

  /** Not flushed to disk: a crash loses at most a validation the client then asks for again. */
  async updateAuthz(authz: AuthzRecord, version: number): Promise<Versioned<AuthzRecord>> {
    return versioned(await this.store.updateState(NS.authz, authz.id, authz, version, { durable: false }))!;
  }

  async recordIssued(ca: string, serial: string, issued: IssuedByAcme): Promise<void> {
    await this.store.createState(NS.issued, `${ca}.${serial}`, issued);
  }

  async issued(ca: string, serial: string): Promise<Versioned<IssuedByAcme> | undefined> {
    return versioned(await this.store.getState<IssuedByAcme>(NS.issued, `${ca}.${serial}`));
  }

  async updateIssued(ca: string, serial: string, issued: IssuedByAcme, version: number): Promise<void> {
    await this.store.updateState(NS.issued, `${ca}.${serial}`, issued, version);
  }

  async createEabKey(kid: string, key: EabKeyRecord): Promise<void> {
    await this.store.createState(NS.eab, kid, key);
  }

  async eabKey(kid: string): Promise<Versioned<EabKeyRecord> | undefined> {
    return versioned(await this.store.getState<EabKeyRecord>(NS.eab, safe(kid)));
  }

  async updateEabKey(kid: string, key: EabKeyRecord, version: number): Promise<void> {
    await this.store.updateState(NS.eab, kid, key, version);
  }

  async renewalOverride(ca: string, serial: string): Promise<RenewalOverride | undefined> {
    return (await this.store.getState<RenewalOverride>(NS.renewal, `${ca}.${serial}`))?.value;
  }

  /** Sets (or replaces) a certificate's renewal window. */
  async setRenewalOverride(ca: string, serial: string, window: RenewalOverride, options?: StateWriteOptions): Promise<void> {
    const id = `${ca}.${serial}`;
    const current = await this.store.getState<RenewalOverride>(NS.renewal, id);
    if (current) await this.store.updateState(NS.renewal, id, window, current.version, options);
    else await this.store.createState(NS.renewal, id, window, options);
  }
}

function versioned<T>(record: StateRecord<T> | undefined): Versioned<T> | undefined {
  return record && { value: record.value, version: record.version };
}

/** An id from a URL is a client's handle: anything but the characters ids are made of is unknown, not an error. */
function safe(id: string): string {
  return /^[A-Za-z0-9_-]{1,64}$/.test(id) ? id : '_unknown';
}
