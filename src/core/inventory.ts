import { ConflictError, NotFoundError } from './errors';
import type { CertificateRecord, IssuedCertificate, ListFilter, RevocationReason } from './types';

/** Applies a {@link ListFilter} the same way in every store. */
export function applyListFilter(records: CertificateRecord[], filter: ListFilter = {}): CertificateRecord[] {
  let out = records;
  if (filter.revokedOnly) out = out.filter((r) => r.status === 'revoked');
  if (filter.expiringBefore) {
    const limit = filter.expiringBefore.getTime();
    out = out.filter((r) => r.status === 'valid' && Date.parse(r.notAfter) < limit);
  }
  return out;
}

/**
 * Refuses a batch that names one serial twice, before a store writes any of it.
 * @throws ConflictError naming the serial.
 */
export function checkDistinctSerials(items: IssuedCertificate[]): void {
  const seen = new Set<string>();
  for (const { record } of items) {
    if (seen.has(record.serial)) throw new ConflictError(`serial ${record.serial} appears twice in one batch; nothing was stored`);
    seen.add(record.serial);
  }
}

/**
 * Checks a revocation request against the inventory and returns the revoked records, in order,
 * without changing anything: every store validates all serials before it writes one.
 * @throws NotFoundError for an unknown serial; ConflictError for one already revoked or listed twice.
 */
export function revokedRecords(
  ca: string,
  lookup: (serial: string) => CertificateRecord | undefined,
  serials: string[],
  reason: RevocationReason,
  at: Date,
): CertificateRecord[] {
  const out: CertificateRecord[] = [];
  const seen = new Set<string>();
  for (const serial of serials) {
    const record = lookup(serial);
    if (!record) throw new NotFoundError(`no certificate with serial ${serial} in CA "${ca}"; \`certctl list\` shows the serials`);
    if (record.status === 'revoked') {
      throw new ConflictError(`serial ${serial} was already revoked at ${record.revokedAt} (${record.revocationReason}); nothing was revoked`);
    }
    if (seen.has(serial)) throw new ConflictError(`serial ${serial} is listed twice; nothing was revoked`);
    seen.add(serial);
    out.push({ ...record, status: 'revoked', revokedAt: at.toISOString(), revocationReason: reason });
  }
  return out;
}
