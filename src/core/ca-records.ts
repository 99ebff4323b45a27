import { X509Certificate, createHash } from 'node:crypto';
import { InvalidInputError } from './errors';
import type { Profile } from './policy/profiles';
import { parseSerial } from './serial';
import type { CaRecord, IssuedCertificate, KeyType } from './types';
import type { SubjectAttributes } from './x509/subject';

/**
 * The parent's inventory entry of an intermediate it signed (so the parent can show and revoke
 * it): read from the certificate, with no key (the intermediate's key is its own).
 */
export function intermediateItem(certPem: string, commonName: string, keyType: KeyType): IssuedCertificate {
  const x509 = new X509Certificate(certPem);
  return {
    record: {
      serial: parseSerial(x509.serialNumber),
      profile: 'intermediate',
      commonName,
      dnsNames: [],
      ipAddresses: [],
      keyType,
      notBefore: new Date(x509.validFrom).toISOString(),
      notAfter: new Date(x509.validTo).toISOString(),
      issuedAt: new Date().toISOString(),
      hasKey: false,
      sha256: createHash('sha256').update(x509.raw).digest('hex'),
      status: 'valid',
    },
    certPem,
  };
}

/**
 * Name constraints asked of a root. A root is a trust anchor: RFC 5280 path validation takes only
 * its name and key, and verifiers differ on whether they apply its extensions; constraints belong
 * on an intermediate.
 */
export function rootConstraintsRefused(): InvalidInputError {
  return new InvalidInputError(
    '--permit-dns/--exclude-dns/--permit-ip/--exclude-ip need --parent: name constraints go on an intermediate; relying parties do not reliably apply them to a root (a trust anchor)',
  );
}

/** What a renewal asks for again: the record's subject attributes less the profile's fixed values (written anyway). */
export function requestedSubject(profile: Profile | undefined, subject: SubjectAttributes | undefined): SubjectAttributes | undefined {
  if (!subject || !profile) return subject;
  const out: SubjectAttributes = {};
  for (const [type, values] of Object.entries(subject) as [keyof SubjectAttributes, string[]][]) {
    const asked = values.filter((v) => !profile.subject[type].fixed.includes(v));
    if (asked.length) out[type] = asked;
  }
  return out;
}

/** The CA certificate's notAfter. */
export function caNotAfter(ca: CaRecord): Date {
  // A server asks on every request: parsing the CA certificate each time cost ~0.3 ms (bench/RESULTS.md).
  let notAfter = notAfterByPem.get(ca.certPem);
  if (notAfter === undefined) {
    notAfter = Date.parse(new X509Certificate(ca.certPem).validTo);
    if (notAfterByPem.size > 256) notAfterByPem.clear();
    notAfterByPem.set(ca.certPem, notAfter);
  }
  return new Date(notAfter);
}
const notAfterByPem = new Map<string, number>();
