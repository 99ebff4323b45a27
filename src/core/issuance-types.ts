import type { ParsedCsr } from './csr';
import type { CaRecord, IssuedCertificate, KeyType } from './types';
import type { SubjectAttributes } from './x509/subject';
import type { NameConstraints } from './x509/name-constraints';

// What callers of the issuance workflow (src/core/issuance-service.ts) ask for and get back.

/** What `certctl issue` asks for. */
export interface IssueRequest {
  /** A built-in leaf profile or a custom one of certctl.yaml. */
  profile: string;
  commonName?: string;
  /** Subject attributes besides CN (`--org`, `--ou`, …), under the profile's `allowed_*`. */
  subject?: SubjectAttributes;
  dnsNames?: string[];
  ipAddresses?: string[];
  /** URI and email SANs, under the profile's `allowed_uris` / `allowed_emails`. */
  uris?: string[];
  emails?: string[];
  ttlSeconds?: number;
  /** The TTL when none is asked for (default: the profile's); shortened to end with the CA. */
  defaultTtlSeconds?: number;
  keyType?: KeyType;
  /** How many certificates (fleet bootstrap); each gets its own key and serial. */
  count?: number;
  onProgress?: (done: number, total: number) => void;
}

/** A request signed with the caller's key: a parsed CSR, or a certificate's names and key (`csrDer` absent). */
export type RequestedCertificate = Omit<ParsedCsr, 'csrDer'> & { csrDer?: Buffer };

/** What a caller of {@link IssuanceService.signRequest} adds to the policy: its own permission check, a default TTL. */
export interface SignOptions {
  /** Called with the checked profile and names before anything is signed; throws to refuse (PolicyError). */
  authorize?: (names: AuthorizedNames) => void | Promise<void>;
  /** The TTL when none is asked for (default: the profile's). */
  defaultTtlSeconds?: number;
  /** Added to the audit event (e.g. who asked, over which API). */
  auditDetail?: Record<string, unknown>;
}

/** The names of a request after policy, as {@link SignOptions.authorize} sees them. */
export interface AuthorizedNames {
  profile: string;
  /** The CA that would sign. */
  ca: string;
  commonName: string;
  dnsNames: string[];
  ipAddresses: string[];
  uris: string[];
  emails: string[];
  subject: SubjectAttributes;
}

/** What `certctl init` asks for. */
export interface InitRequest {
  commonName: string;
  keyType?: KeyType;
  ttlSeconds?: number;
  parent?: string;
  passphrase?: string;
  /** Use this existing key of the signer's token instead of generating one (`init --key-label`). */
  existingKeyLabel?: string;
  /** NameConstraints for an intermediate (policy/name-constraints.ts parses the flags). */
  nameConstraints?: NameConstraints;
}

/**
 * Hands issued certificates to their recipient in two phases around the store write:
 * `prepare` stages the outputs (temp files) before anything is stored; `commit` makes
 * them visible once the store has the certificates; `abort` drops them if storing failed.
 * So a failed command leaves neither an unreceived certificate in the store nor a file out.
 */
export type Delivery = (result: IssueResult) => Promise<{ commit(): Promise<void>; abort(): string[] }>;

/** Issued certificates with the CA material an output layout needs. */
export interface IssueResult {
  items: IssuedCertificate[];
  ca: CaRecord;
  warnings: string[];
}
