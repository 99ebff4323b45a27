/** Key algorithms certctl generates and accepts. */
export const KEY_TYPES = ['ec-p256', 'ec-p384', 'rsa-2048', 'rsa-3072', 'rsa-4096', 'ed25519'] as const;
export type KeyType = (typeof KEY_TYPES)[number];

/** Certificate profiles of DESIGN.md. */
export const LEAF_PROFILES = ['server', 'client', 'peer', 'node'] as const;
export type LeafProfileName = (typeof LEAF_PROFILES)[number];
/** Every built-in profile: the TLS leaves, `ocsp` (a delegated OCSP responder's certificate) and `intermediate`. */
export const PROFILE_NAMES = [...LEAF_PROFILES, 'ocsp', 'intermediate'] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];

/** CRL reason codes certctl lets an operator give (RFC 5280 5.3.1). */
export const REVOCATION_REASONS = ['unspecified', 'keyCompromise', 'superseded', 'cessationOfOperation', 'affiliationChanged'] as const;
export type RevocationReason = (typeof REVOCATION_REASONS)[number];

/** The inventory facts of one issued certificate; what `list` and `show` print. */
export interface CertificateRecord {
  /** Canonical serial: uppercase hex of the positive integer, no colons, even length. */
  serial: string;
  /** A built-in profile (ProfileName) or a custom one of certctl.yaml. */
  profile: string;
  /** Subject common name ('' when the subject is empty). */
  commonName: string;
  /** Subject attributes besides CN, by type (O, OU, C, ST, L, serialNumber); absent in records written before they existed. */
  subject?: Partial<Record<'C' | 'ST' | 'L' | 'O' | 'OU' | 'serialNumber', string[]>>;
  dnsNames: string[];
  ipAddresses: string[];
  /** URI and email SANs; absent in records written before they existed. */
  uris?: string[];
  emails?: string[];
  /** Key type of the certified key. */
  keyType: KeyType;
  notBefore: string;
  notAfter: string;
  issuedAt: string;
  /** Whether the store holds the private key (false for certificates signed from a CSR). */
  hasKey: boolean;
  /** SHA-256 fingerprint of the certificate DER, lowercase hex. */
  sha256: string;
  status: 'valid' | 'revoked';
  revokedAt?: string;
  revocationReason?: RevocationReason;
}

/** A certificate on its way into a store: inventory record, certificate and optional key. */
export interface IssuedCertificate {
  record: CertificateRecord;
  certPem: string;
  /** Unencrypted PKCS#8 PEM of the leaf key, when certctl generated it. */
  keyPem?: string;
}

/** What a store keeps about a CA besides its key. */
export interface CaRecord {
  name: string;
  /** The CA certificate PEM. */
  certPem: string;
  /** Certificates above this CA, nearest first, the root last; empty for a root CA. */
  chainPem: string[];
  /** Name of the CA that signed this one, for an intermediate created by certctl. */
  parent?: string;
  keyType: KeyType;
  /** Whether the stored key is encrypted with a passphrase. */
  keyEncrypted: boolean;
  createdAt: string;
}

/** What a caller asks of `list`. */
export interface ListFilter {
  /** Only certificates whose notAfter is before this instant (and not yet revoked). */
  expiringBefore?: Date;
  revokedOnly?: boolean;
}
