/**
 * Builds certctl's v2 CRLs as DER by hand (see der.ts for why), signed with the same
 * synchronous DerSigner as certificates. The tests prove the TBSCertList
 * byte-identical to @peculiar/x509's X509CrlGenerator for the same inputs, except
 * that an entry without a reason carries no crlEntryExtensions at all (the library
 * writes an empty SEQUENCE, which Extensions' SIZE (1..MAX) forbids).
 */
import { InvalidInputError } from '../errors';
import type { RevocationReason } from '../types';
import { bitString, enumerated, explicit, integer, sequence, time } from './der';
import { isSingleSequence } from './der-reader';
import { encodeAuthorityKeyIdentifierExtension, encodeExtension, encodeSerialNumber } from './fields';
import type { DerSigner } from './signing';

/** Everything that varies between two CRLs of one CA. */
export interface CrlTemplate {
  /** Issuer Name DER, copied verbatim from the CA certificate's subject. */
  issuerDer: Buffer;
  thisUpdate: Date;
  nextUpdate: Date;
  /** Monotonically increasing per CA; at most 20 octets (RFC 5280 5.2.3). */
  crlNumber: bigint;
  /** The CA's subject key identifier. */
  authorityKeyId: Buffer;
  entries: { serial: Buffer; revokedAt: Date; reason?: RevocationReason }[];
}

const OID_CRL_NUMBER = '2.5.29.20';
const OID_CRL_REASON = '2.5.29.21';
const VERSION_V2 = integer(1);
const MAX_CRL_NUMBER = 1n << 159n; // 20 octets as a positive INTEGER

/** CRLReason codes (RFC 5280 5.3.1) of the reasons an operator can give (core/types.ts); OCSP answers use them too. */
export const REASON_CODES: Readonly<Record<RevocationReason, number>> = {
  unspecified: 0,
  keyCompromise: 1,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
};

/*
 * The crlEntryExtensions of each reason, encoded once. 'unspecified' has none:
 * RFC 5280 5.3.1 says the reasonCode extension SHOULD be absent rather than carry
 * unspecified (0), and zlint's e_cab_crl_has_valid_reason_code reports an error for
 * code 0 (@peculiar/x509 also drops it). The same lint allows only codes 1, 3, 4, 5
 * and 9 under the CA/Browser Forum BRs, which every reason certctl offers keeps to.
 */
const REASON_ENTRY_EXTENSIONS = new Map<RevocationReason, Buffer>(
  (Object.keys(REASON_CODES) as RevocationReason[])
    .filter((reason) => REASON_CODES[reason] !== 0)
    .map((reason) => [reason, sequence([encodeExtension(OID_CRL_REASON, false, enumerated(REASON_CODES[reason]))])]),
);

function revokedCertificate(entry: CrlTemplate['entries'][number], serial: Buffer): Buffer {
  if (entry.reason !== undefined && !Object.hasOwn(REASON_CODES, entry.reason)) {
    throw new InvalidInputError(`unsupported revocation reason "${String(entry.reason)}"`);
  }
  const extensions = entry.reason === undefined ? undefined : REASON_ENTRY_EXTENSIONS.get(entry.reason);
  return extensions ? sequence([serial, time(entry.revokedAt), extensions]) : sequence([serial, time(entry.revokedAt)]);
}

/**
 * The signed v2 CRL DER: crlExtensions authorityKeyIdentifier then cRLNumber (both non-critical);
 * each entry carries a reasonCode only for a reason other than 'unspecified'; revokedCertificates
 * is omitted when there are no entries.
 * @throws InvalidInputError for a malformed issuer name, nextUpdate before thisUpdate, a CRL number
 * that is negative or over 20 octets, an empty authority key id, a zero, over-long or repeated serial,
 * an unknown reason or an invalid date; and whatever the signer throws.
 */
export function buildCrlDer(t: CrlTemplate, signer: DerSigner): Buffer {
  if (!isSingleSequence(t.issuerDer)) throw new InvalidInputError('issuer name is not a single DER SEQUENCE');
  if (t.nextUpdate.getTime() < t.thisUpdate.getTime()) throw new InvalidInputError('nextUpdate is before thisUpdate');
  if (typeof t.crlNumber !== 'bigint' || t.crlNumber < 0n || t.crlNumber >= MAX_CRL_NUMBER) {
    throw new InvalidInputError('CRL number must be a non-negative integer of at most 20 octets');
  }

  const fields: Buffer[] = [VERSION_V2, signer.algorithmIdentifierDer, t.issuerDer, time(t.thisUpdate), time(t.nextUpdate)];
  if (t.entries.length > 0) {
    const seen = new Set<string>();
    const revoked = new Array<Buffer>(t.entries.length);
    for (let i = 0; i < t.entries.length; i++) {
      const serial = encodeSerialNumber(t.entries[i].serial);
      const key = serial.toString('latin1');
      if (seen.has(key)) throw new InvalidInputError(`serial ${t.entries[i].serial.toString('hex')} is listed twice`);
      seen.add(key);
      revoked[i] = revokedCertificate(t.entries[i], serial);
    }
    fields.push(sequence(revoked));
  }
  fields.push(explicit(0, sequence([encodeAuthorityKeyIdentifierExtension(t.authorityKeyId), encodeExtension(OID_CRL_NUMBER, false, integer(t.crlNumber))])));

  const tbs = sequence(fields);
  return sequence([tbs, signer.algorithmIdentifierDer, bitString(signer.sign(tbs))]);
}
