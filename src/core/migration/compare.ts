import { REVOCATION_REASONS, type CaRecord, type CertificateRecord, type IssuedCertificate, type RevocationReason } from '../types';
import { differingFields, fingerprint, sha256 } from './objects';

/** How one serial that both stores hold compares, source against target. */
export type Comparison =
  | { kind: 'identical' }
  /** The target holds it valid, the source revoked: marking it revoked with this time and reason makes both identical. */
  | { kind: 'revocation'; reason: RevocationReason; at: Date }
  | { kind: 'conflict'; what: string };

/** A CA as a store holds it: record and key PEM (undefined when its signer keeps the key). */
export interface HeldCa {
  record: CaRecord;
  key: string | undefined;
}

const REVOCATION_FIELDS = ['status', 'revokedAt', 'revocationReason'];

/**
 * Compares one certificate with its key and record as the two stores hold it. Only a
 * revocation the target lacks can be carried over (revocations go from valid to revoked, never
 * back); any other difference is a conflict, described for the operator ("source" and "target":
 * both stores may be of one kind).
 */
export function compareCertificate(source: IssuedCertificate, target: IssuedCertificate): Comparison {
  const what: string[] = [];
  if (sha256(source.certPem) !== sha256(target.certPem)) what.push('a different certificate');
  const key = keyDifference(source.keyPem, target.keyPem);
  if (key) what.push(key);
  const fields = differingFields(source.record, target.record, REVOCATION_FIELDS);
  if (fields.length) what.push(`the record differs in ${fields.join(', ')}`);
  const revocation = compareRevocation(source.record, target.record);
  if (revocation.kind === 'conflict') what.push(revocation.what);
  return what.length ? { kind: 'conflict', what: what.join('; ') } : revocation;
}

function keyDifference(source: string | undefined, target: string | undefined): string | undefined {
  if (source === target) return undefined;
  if (target === undefined) return 'no key in the target, which the source has';
  if (source === undefined) return 'a key in the target, which the source lacks';
  return 'a different key';
}

function compareRevocation(source: CertificateRecord, target: CertificateRecord): Comparison {
  if (source.status === 'valid' && target.status === 'valid') return { kind: 'identical' };
  if (source.status === 'valid') return { kind: 'conflict', what: `revoked in the target ${revocation(target)} but valid in the source` };
  if (target.status === 'revoked') {
    if (source.revokedAt === target.revokedAt && source.revocationReason === target.revocationReason) return { kind: 'identical' };
    return { kind: 'conflict', what: `revoked differently: ${revocation(source)} in the source, ${revocation(target)} in the target` };
  }
  const at = source.revokedAt === undefined ? undefined : new Date(source.revokedAt);
  const reason = source.revocationReason;
  // Every store writes `at.toISOString()`: only a time in that form comes out of the target identical.
  if (!at || Number.isNaN(at.getTime()) || at.toISOString() !== source.revokedAt || !reason || !REVOCATION_REASONS.includes(reason)) {
    return { kind: 'conflict', what: `revoked in the source without a time and reason certctl can carry over (${revocation(source)})` };
  }
  return { kind: 'revocation', reason, at };
}

function revocation(record: CertificateRecord): string {
  return `at ${record.revokedAt ?? '(no time)'} (${record.revocationReason ?? 'no reason'})`;
}

/**
 * What differs between the CA the target already holds and the one the migration would put
 * there. `otherCa` when it is another CA altogether (another certificate): its certificates
 * then cannot be compared at all.
 */
export function compareCa(expected: HeldCa, existing: HeldCa, targetKind: string): { otherCa: boolean; what: string[] } {
  const ca = expected.record.name;
  if (fingerprint(expected.record.certPem) !== fingerprint(existing.record.certPem)) {
    return { otherCa: true, what: [`the ${targetKind} store already has a different CA "${ca}" (another certificate)`] };
  }
  const what: string[] = [];
  const fields = differingFields(expected.record, existing.record, keylessIgnores(expected));
  if (fields.length) what.push(`its CA record differs in ${fields.join(', ')}`);
  if (expected.key !== undefined && existing.key === undefined) what.push('the target holds the CA without its key, which the source has');
  else if (expected.key !== undefined && sha256(expected.key) !== sha256(existing.key!)) what.push('the CA key differs');
  return { otherCa: false, what };
}

/**
 * CA record fields that say something only about a key the source does not hold: without a key
 * in the source (its signer keeps it, e.g. after `--import-ca-key`), `keyEncrypted` describes the
 * target's own key, which the migration leaves as it is.
 */
export function keylessIgnores(source: HeldCa): readonly string[] {
  return source.key === undefined ? ['keyEncrypted'] : [];
}
