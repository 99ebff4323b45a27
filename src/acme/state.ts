import { randomBytes } from 'node:crypto';
import type { StateRecord, StateWriteOptions } from '../core/state-store';
import type { StateStore } from '../core/cert-store';
import type { AccountRecord, AuthzRecord, EabKeyRecord, IssuedByAcme, OrderRecord, RenewalOverride } from './records';

/** The namespaces of ACME's records in the store's state (SA in Boulder's split). */
const NS = {
  nonce: 'acme-nonce',
  account: 'acme-account',
  accountKey: 'acme-account-key',
  order: 'acme-order',
  authz: 'acme-authz',
  issued: 'acme-issued',
  eab: 'acme-eab',
  renewal: 'acme-renewal',
} as const;

/** A record and the version its compare-and-set update names. */
export interface Versioned<T> {
  value: T;
  version: number;
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

  /** A new nonce, good for an hour. */
  async issueNonce(): Promise<string> {
    const nonce = newId();
    await this.store.createState(NS.nonce, nonce, {}, { expiresAt: new Date(Date.now() + 3600_000) });
    return nonce;
  }

  /** Uses a nonce up: true for the one request that claims it, false for a replay, an expired or a made-up one. */
  async consumeNonce(nonce: string): Promise<boolean> {
    if (!/^[A-Za-z0-9_-]{22}$/.test(nonce)) return false;
    return (await this.store.claimState(NS.nonce, nonce)).claimed;
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
    for (const authz of authzs) await this.store.createState(NS.authz, authz.id, authz, { expiresAt });
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

  async updateAuthz(authz: AuthzRecord, version: number): Promise<Versioned<AuthzRecord>> {
    return versioned(await this.store.updateState(NS.authz, authz.id, authz, version))!;
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
