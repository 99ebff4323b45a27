// Where certctl keeps what in Barbican: object names, the payloads of a CA's objects, the CA
// record and the order a CA's objects are deleted in. Pure functions over names and payloads;
// barbican-cert-store.ts makes the calls.
import { InternalError } from '../../core/errors';
import type { CaRecord, CertificateRecord } from '../../core/types';
import type { SecretType } from './requests';

/** The JSON kept in a CA's `ca-record` secret: the record and the ids of the CA's other objects. */
export interface CaDoc {
  v: 1;
  record: CaRecord;
  ids: { cert: string; key?: string; chain?: string; bundle: string; container: string };
  /** Tells two racing `init`s apart. */
  nonce: string;
}

/** The CA's secrets other than its record, by their key in {@link CaDoc.ids}. */
export type CaSecretSlot = 'cert' | 'key' | 'chain' | 'bundle';

/** One CA secret to write: its slot, the last part of its name, its type and payload. */
export interface CaSecret {
  slot: CaSecretSlot;
  part: string;
  type: SecretType;
  payload: string;
}

const CA_PARTS: Record<CaSecretSlot, string> = { cert: 'ca', key: 'ca-key', chain: 'ca-chain', bundle: 'ca-bundle' };

/**
 * Names of a CA's objects, all under `<prefix>/<ca>/` so an operator can find them with
 * `openstack secret list --name`:
 * - `ca` (certificate), `ca-key` (private, PEM as given: encrypted when a passphrase was set),
 *   `ca-chain` (certificate, intermediates above the CA), `ca-bundle` (the CA and its chain, what
 *   leaf containers name as `intermediates`), a `certificate` container `ca`, and `ca-record`
 *   (opaque JSON: a {@link CaDoc}), written last as the commit point;
 * - per issued certificate: `<serial>/cert` (certificate), `<serial>/key` (private, when certctl
 *   generated the key) and a `certificate` container `<serial> <CN>` with certificate,
 *   private_key and intermediates, the shape Octavia and Magnum consume;
 * - `inventory`: the CA's event log (inventory-log.ts).
 */
export class ObjectNames {
  constructor(private readonly prefix: string) {}

  /** `<prefix>/<ca>/<part>`. */
  of(ca: string, part: string): string {
    return `${this.prefix}/${ca}/${part}`;
  }

  /** The start shared by every name of one CA. */
  under(ca: string): string {
    return this.of(ca, '');
  }

  caRecord(ca: string): string {
    return this.of(ca, 'ca-record');
  }

  caContainer(ca: string): string {
    return this.of(ca, 'ca');
  }

  caSecret(ca: string, slot: CaSecretSlot): string {
    return this.of(ca, CA_PARTS[slot]);
  }

  inventory(ca: string): string {
    return this.of(ca, 'inventory');
  }

  /** A leaf's secret; the serial in the name lets a write whose answer was lost be found again. */
  leafSecret(ca: string, serial: string, part: 'cert' | 'key'): string {
    return this.of(ca, `${serial}/${part}`);
  }

  /**
   * A leaf's container, `<serial> <CN>` to read well in `openstack secret container list`.
   * Barbican trims names and keeps at most 255 characters; a backslash would be a LIKE escape on MySQL.
   */
  leafContainer(ca: string, record: CertificateRecord): string {
    const label = record.commonName ? ` ${record.commonName.replace(/\\/g, '')}` : '';
    return this.of(ca, `${record.serial}${label}`).slice(0, 255).trim();
  }

  /** The CA a `ca-record` secret's name belongs to, or undefined for any other name. */
  caOfRecord(name: string): string | undefined {
    const start = `${this.prefix}/`;
    const end = '/ca-record';
    if (!name.startsWith(start) || !name.endsWith(end)) return undefined;
    const ca = name.slice(start.length, name.length - end.length);
    return ca && !ca.includes('/') ? ca : undefined;
  }
}

/** A CA's secrets besides its record, in the order they are written (absent ones left out). */
export function caSecrets(record: CaRecord, keyPem?: string): CaSecret[] {
  const secrets: CaSecret[] = [{ slot: 'cert', part: CA_PARTS.cert, type: 'certificate', payload: record.certPem }];
  if (keyPem !== undefined) secrets.push({ slot: 'key', part: CA_PARTS.key, type: 'private', payload: keyPem });
  if (record.chainPem.length) secrets.push({ slot: 'chain', part: CA_PARTS.chain, type: 'certificate', payload: record.chainPem.join('') });
  secrets.push({ slot: 'bundle', part: CA_PARTS.bundle, type: 'certificate', payload: [record.certPem, ...record.chainPem].join('') });
  return secrets;
}

/** One step of deleting a CA: what it deletes (for the error), which objects, and how many at once. */
export interface DeletionPhase {
  what: string;
  ids: string[];
  container?: boolean;
  limit: number;
}

/**
 * The order a CA's objects are deleted in: containers first (deleting a container leaves its
 * secrets), then the inventory segments oldest first (as listed: an issue event goes before the
 * revocations that follow it), the certificates' and keys' secrets, the CA's certificate, key,
 * chain and bundle, and its `ca-record` last, so a run that fails midway leaves the CA listed.
 */
export function deletionPhases(names: ObjectNames, ca: string, secrets: { id: string; name: string }[], containers: { id: string }[]): DeletionPhase[] {
  const caParts = new Set((Object.keys(CA_PARTS) as CaSecretSlot[]).map((slot) => names.caSecret(ca, slot)));
  const record = names.caRecord(ca);
  const segment = names.inventory(ca);
  const ids = (keep: (name: string) => boolean) => secrets.filter((s) => keep(s.name)).map((s) => s.id);
  return [
    { what: 'containers', ids: containers.map((c) => c.id), container: true, limit: 8 },
    { what: 'inventory segments', ids: ids((n) => n === segment), limit: 1 },
    { what: 'certificate and key secrets', ids: ids((n) => n !== segment && n !== record && !caParts.has(n)), limit: 8 },
    { what: 'CA secrets', ids: ids((n) => caParts.has(n)), limit: 4 },
    { what: 'the CA record', ids: ids((n) => n === record), limit: 1 },
  ];
}

/** A JSON payload certctl wrote, parsed; anything else was changed outside certctl. */
export function parseJson<T>(text: string, what: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new InternalError(`${what} in Barbican is not valid JSON; it was changed outside certctl`, { cause: err });
  }
}
