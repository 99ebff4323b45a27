import { inject, injectable } from 'inversify';
import type { CaDeletingStore, CrlNumberRaisingStore } from '../../../src/core/cert-store';
import { ConflictError, NotFoundError } from '../../../src/core/errors';
import { applyListFilter, checkDistinctSerials, revokedRecords } from '../../../src/core/inventory';
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

/**
 * A CertStore kept in memory: the example backend of ARCHITECTURE.md, and the proof that a backend
 * is one folder plus one registration. Copies in and out, so callers never share objects with it.
 */
@injectable()
export class MemoryCertStore implements CrlNumberRaisingStore, CaDeletingStore {
  readonly kind = 'memory';
  private readonly cas: Map<string, CaSpace>;

  constructor(@inject(MemoryOptions) options: MemoryOptions) {
    let found = spaces.get(options.space);
    if (!found) spaces.set(options.space, (found = new Map()));
    this.cas = found;
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

  private space(ca: string): CaSpace {
    const s = this.cas.get(ca);
    if (!s) throw new NotFoundError(`no CA named "${ca}" in the memory store`);
    return s;
  }
}
