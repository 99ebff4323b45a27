import { inject, injectable } from 'inversify';
import type { CaDeletingStore, CrlNumberRaisingStore, StateStore } from '../../../src/core/cert-store';
import { ConflictError, NotFoundError } from '../../../src/core/errors';
import { applyListFilter, checkDistinctSerials, revokedRecords } from '../../../src/core/inventory';
import { checkStateKey, claimDecision, isExpired, stateBody, type ClaimOutcome, type StateRecord, type StateWriteOptions } from '../../../src/core/state-store';
import type { CaRecord, CertificateRecord, IssuedCertificate, ListFilter, RevocationReason } from '../../../src/core/types';
import { MemoryOptions } from './options';

/** Everything of one CA, as the store keeps it. */
interface CaSpace {
  record: CaRecord;
  key?: string;
  certs: Map<string, { record: CertificateRecord; certPem: string; keyPem?: string }>;
  crlNumber: bigint;
}

/**
 * Process-wide "servers": a space outlives the containers that open it, as a remote store outlives
 * one certctl command, so an in-process CLI round trip sees what the previous command wrote.
 */
const spaces = new Map<string, Map<string, CaSpace>>();
/** State records per space, keyed `ns/id`: one process, so every operation is atomic by running to its end. */
const states = new Map<string, Map<string, StateRecord>>();

/**
 * A CertStore kept in memory: the example backend of ARCHITECTURE.md, and the proof that a backend
 * is one folder plus one registration. Copies in and out, so callers never share objects with it.
 */
@injectable()
export class MemoryCertStore implements CrlNumberRaisingStore, CaDeletingStore, StateStore {
  readonly kind = 'memory';
  private readonly cas: Map<string, CaSpace>;
  private readonly state: Map<string, StateRecord>;

  constructor(@inject(MemoryOptions) options: MemoryOptions) {
    let found = spaces.get(options.space);
    if (!found) spaces.set(options.space, (found = new Map()));
    this.cas = found;
    let records = states.get(options.space);
    if (!records) states.set(options.space, (records = new Map()));
    this.state = records;
  }

  async getCa(ca: string): Promise<CaRecord | undefined> {
    const s = this.cas.get(ca);
    return s && structuredClone(s.record);
  }

  async listCas(): Promise<string[]> {
    return [...this.cas.keys()];
  }

  async createCa(record: CaRecord, keyPem?: string): Promise<void> {
    if (this.cas.has(record.name)) throw new ConflictError(`CA "${record.name}" already exists in the memory store`);
    this.cas.set(record.name, { record: structuredClone(record), key: keyPem, certs: new Map(), crlNumber: 0n });
  }

  async getCaKey(ca: string): Promise<string> {
    const key = this.space(ca).key;
    if (key === undefined) throw new NotFoundError(`CA "${ca}" has no key in the memory store`);
    return key;
  }

  async putIssued(ca: string, items: IssuedCertificate[]): Promise<void> {
    const s = this.space(ca);
    checkDistinctSerials(items);
    const taken = items.find((i) => s.certs.has(i.record.serial));
    if (taken) throw new ConflictError(`serial ${taken.record.serial} is already in CA "${ca}"; nothing was stored`);
    for (const i of items) s.certs.set(i.record.serial, { record: structuredClone(i.record), certPem: i.certPem, keyPem: i.keyPem });
  }

  async get(ca: string, serial: string): Promise<{ record: CertificateRecord; certPem: string } | undefined> {
    const c = this.space(ca).certs.get(serial);
    return c && { record: structuredClone(c.record), certPem: c.certPem };
  }

  async getKey(ca: string, serial: string): Promise<string | undefined> {
    return this.space(ca).certs.get(serial)?.keyPem;
  }

  async list(ca: string, filter?: ListFilter): Promise<CertificateRecord[]> {
    return applyListFilter(
      [...this.space(ca).certs.values()].map((c) => structuredClone(c.record)),
      filter,
    );
  }

  async markRevoked(ca: string, serials: string[], reason: RevocationReason, at: Date): Promise<CertificateRecord[]> {
    const s = this.space(ca);
    const revoked = revokedRecords(ca, (serial) => s.certs.get(serial)?.record, serials, reason, at);
    for (const r of revoked) s.certs.get(r.serial)!.record = structuredClone(r);
    return revoked;
  }

  async nextCrlNumber(ca: string): Promise<bigint> {
    const s = this.space(ca);
    return ++s.crlNumber;
  }

  async raiseCrlNumber(ca: string, atLeast: bigint): Promise<bigint> {
    const s = this.space(ca);
    if (atLeast > s.crlNumber) s.crlNumber = atLeast;
    return s.crlNumber;
  }

  async deleteCa(ca: string): Promise<void> {
    this.space(ca);
    this.cas.delete(ca);
  }

  async createState<T>(ns: string, id: string, value: T, options?: StateWriteOptions): Promise<StateRecord<T>> {
    const key = stateKey(ns, id);
    if (this.state.has(key)) throw new ConflictError(`state ${ns}/${id} already exists in the memory store`);
    const record = { ...stateBody(structuredClone(value), options), version: 1 };
    this.state.set(key, record);
    return structuredClone(record);
  }

  async getState<T>(ns: string, id: string): Promise<StateRecord<T> | undefined> {
    const found = this.state.get(stateKey(ns, id));
    return found && (structuredClone(found) as StateRecord<T>);
  }

  async updateState<T>(ns: string, id: string, value: T, version: number, options?: StateWriteOptions): Promise<StateRecord<T>> {
    const key = stateKey(ns, id);
    const old = this.state.get(key);
    if (!old) throw new NotFoundError(`no state ${ns}/${id} in the memory store`);
    if (old.version !== version) throw new ConflictError(`state ${ns}/${id} is at version ${old.version}, not ${version}`);
    const expiresAt = options?.expiresAt ?? (old.expiresAt ? new Date(old.expiresAt) : undefined);
    const record = { ...stateBody(structuredClone(value), { expiresAt }, old.claimedAt), version: version + 1 };
    this.state.set(key, record);
    return structuredClone(record);
  }

  async deleteState(ns: string, id: string): Promise<void> {
    this.state.delete(stateKey(ns, id));
  }

  async claimState<T>(ns: string, id: string, now = new Date()): Promise<ClaimOutcome<T>> {
    const key = stateKey(ns, id);
    const old = this.state.get(key) as StateRecord<T> | undefined;
    if (!old) return { claimed: false, reason: 'absent' };
    const decision = claimDecision(old, now);
    if (decision !== 'claim') return { claimed: false, reason: decision, record: structuredClone(old) };
    const record = { ...old, claimedAt: now.toISOString(), version: old.version + 1 };
    this.state.set(key, record);
    return { claimed: true, record: structuredClone(record) };
  }

  async pruneState(ns: string, before: Date): Promise<number> {
    checkStateKey(ns);
    let removed = 0;
    for (const [key, record] of this.state) {
      if (key.startsWith(`${ns}/`) && isExpired(record, before)) {
        this.state.delete(key);
        removed++;
      }
    }
    return removed;
  }

  private space(ca: string): CaSpace {
    const s = this.cas.get(ca);
    if (!s) throw new NotFoundError(`no CA named "${ca}" in the memory store`);
    return s;
  }
}

function stateKey(ns: string, id: string): string {
  checkStateKey(ns, id);
  return `${ns}/${id}`;
}
