import { X509Certificate, createHash } from 'node:crypto';
import { canRaiseCrlNumber, type CertStore } from '../cert-store';
import { NotFoundError, NotSupportedError } from '../errors';
import type { IssuedCertificate } from '../types';

/** SHA-256 digests of one certificate's three objects, compared between source and target. */
export interface Digest {
  cert: string;
  key: string | null;
  record: string;
}

/** The CA key as the store keeps it, or undefined when its signer holds it elsewhere. */
export async function readCaKey(store: CertStore, ca: string): Promise<string | undefined> {
  try {
    return await store.getCaKey(ca);
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}

/**
 * The CA's CRL number as the store holds it, read without writing.
 * @throws NotSupportedError for a store that cannot report it (a fresh instance of a store
 *   checked before the run always can); NotFoundError when the CA does not exist.
 */
export async function readCrlNumber(store: CertStore, ca: string): Promise<bigint> {
  if (!canRaiseCrlNumber(store)) throw new NotSupportedError(`the ${store.kind} store cannot report CRL numbers, so certctl cannot compare them`);
  return store.raiseCrlNumber(ca, 0n);
}

/** One certificate with its record and key as a store holds them, or undefined for an unknown serial. */
export async function readIssued(store: CertStore, ca: string, serial: string): Promise<IssuedCertificate | undefined> {
  const [found, keyPem] = await Promise.all([store.get(ca, serial), store.getKey(ca, serial)]);
  return found && { record: found.record, certPem: found.certPem, keyPem };
}

/** The digests a migration compares: certificate and key byte for byte, the record canonically. */
export function digest(item: IssuedCertificate): Digest {
  return { cert: sha256(item.certPem), key: item.keyPem === undefined ? null : sha256(item.keyPem), record: sha256(canonicalJson(item.record)) };
}

/** Lowercase hex SHA-256 of a text. */
export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The certificate's SHA-256 fingerprint: equal certificates whatever their PEM line breaks. */
export function fingerprint(pem: string): string {
  try {
    return new X509Certificate(pem).fingerprint256;
  } catch {
    // Not parseable (a store holding something odd): fall back to the text, which then must match exactly.
    return sha256(pem);
  }
}

/**
 * JSON with object keys sorted and undefined members dropped, so records compare equal
 * whichever order a store serialises their fields in.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

/** Names of the members whose values differ between two records (canonically), in sorted order. */
export function differingFields<T extends object>(a: T, b: T, ignore: readonly string[] = []): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  const value = (o: T, k: string) => canonicalJson((o as Record<string, unknown>)[k]);
  return [...keys].filter((k) => !ignore.includes(k) && value(a, k) !== value(b, k)).sort();
}
