import { createHash } from 'node:crypto';
import { NotFoundError } from '../../core/errors';
import { CA_NAME_PATTERN } from '../../core/names';
import { certificateParts, readTlv } from '../../core/x509/der-reader';
import { pemBlocks } from '../../core/x509/pem';
import type { CaServices } from '../ca-services';

/** Hashes an OCSP CertID may name an issuer with (RFC 6960 4.1.1: SHA-1 by default; clients also send SHA-256). */
const CERT_ID_HASHES: Readonly<Record<string, string>> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

/** What the revocation endpoints know of one CA: its name and how OCSP requests name it. */
export interface ServedCa {
  name: string;
  /**
   * Whether a CertID's issuerNameHash and issuerKeyHash (RFC 6960 4.1.1: over the issuer's
   * subject DER and its subjectPublicKey bits) name this CA, under the CertID's hash algorithm.
   */
  issued(hashAlgorithm: string, nameHash: Buffer, keyHash: Buffer): boolean;
}

/**
 * The CAs the public endpoints answer for, looked up in the store of the default CA's container
 * before any per-CA container is built: a request for a made-up CA name (the endpoints are public)
 * costs one read and leaves nothing behind. Found CAs are kept (a CA's certificate never changes).
 */
export class ServedCas {
  private readonly known = new Map<string, Promise<ServedCa>>();

  constructor(private readonly services: CaServices) {}

  /**
   * The CA of that name.
   * @throws NotFoundError when the store has no such CA.
   */
  get(name: string): Promise<ServedCa> {
    let found = this.known.get(name);
    if (!found) {
      found = this.load(name);
      this.known.set(name, found);
      found.catch(() => this.known.get(name) === found && this.known.delete(name));
    }
    return found;
  }

  private async load(name: string): Promise<ServedCa> {
    const record = CA_NAME_PATTERN.test(name) ? await this.services.store().getCa(name) : undefined;
    if (!record) throw new NotFoundError(`no CA "${name}" on this server; GET /v1/ca lists the default one`);
    const parts = certificateParts(pemBlocks(record.certPem, 'CERTIFICATE')[0]);
    const bits = readTlv(parts.spkiDer, readTlv(parts.spkiDer, readTlv(parts.spkiDer, 0).contentStart).end);
    const key = parts.spkiDer.subarray(bits.contentStart + 1, bits.end);
    const hashes = new Map<string, { name: Buffer; key: Buffer }>();
    return {
      name,
      issued(hashAlgorithm, nameHash, keyHash) {
        const algorithm = Object.hasOwn(CERT_ID_HASHES, hashAlgorithm) ? CERT_ID_HASHES[hashAlgorithm] : undefined;
        if (!algorithm) return false;
        let mine = hashes.get(algorithm);
        if (!mine) {
          mine = { name: createHash(algorithm).update(parts.subjectDer).digest(), key: createHash(algorithm).update(key).digest() };
          hashes.set(algorithm, mine);
        }
        return mine.name.equals(nameHash) && mine.key.equals(keyHash);
      },
    };
  }
}
