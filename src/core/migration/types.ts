import type { CertStore } from '../cert-store';
import type { CaRecord } from '../types';

/** What `certctl migrate` asks of `migrateStores`. */
export interface MigrationOptions {
  /** CAs to move; default every CA of the source. */
  cas?: string[];
  /** Plan only (read both stores, classify every certificate); write nothing to either store. */
  dryRun?: boolean;
  /** Certificates per `putIssued` call (default 200): one all-or-nothing unit of progress. */
  batchSize?: number;
  /** Reads in flight against a store (default 8); network stores answer faster with several. */
  concurrency?: number;
  /**
   * A fresh instance of the target store for the read-back. A store may cache what it wrote;
   * verifying through a new instance compares what the backend really holds. Default: the target itself.
   */
  verifyTarget?: () => CertStore;
  /** Called as certificates are copied and verified. */
  onProgress?(progress: MigrationProgress): void;
  /**
   * Moves each CA key the source holds into a signer that keeps keys itself instead of into the
   * target store: the key is decrypted in memory, handed to the importer, and the target store
   * gets the CA without its key.
   */
  caKeyImporter?: CaKeyImporter;
  /** The CA passphrase, for decrypting an encrypted CA key before {@link caKeyImporter} takes it. */
  passphrase?: () => string | undefined;
  /**
   * After every CA was copied and verified, delete each from the source (`--delete-source`).
   * Needs the source store's `deleteCa`; never acts with `dryRun`.
   */
  deleteSource?: boolean;
  /**
   * A fresh instance of the source, to check just before deleting that the source CA still holds
   * exactly what was verified (a caching store would answer from its cache). Default: the source.
   */
  freshSource?: () => CertStore;
}

/** A signer that can take over a CA key certctl held (a signer's `adoptCa`). */
export interface CaKeyImporter {
  /** For messages: the signer and where it keeps keys. */
  readonly name: string;
  /** Writes nothing; throws when the CA cannot be imported (e.g. another CA of that name is there). */
  checkAdoptable(record: CaRecord): Promise<void>;
  /** Imports certificate + unencrypted key PEM; idempotent. @returns notes for the operator. */
  adoptCa(record: CaRecord, keyPem: string): Promise<string[]>;
}

/** Progress of one phase of one CA. */
export interface MigrationProgress {
  ca: string;
  phase: 'copy' | 'verify';
  done: number;
  total: number;
}

/**
 * What happened to one CA; with `dryRun`, what would happen. The counts come from the plan
 * (both stores read, every certificate classified) and are what the real run executes.
 */
export interface CaMigration {
  ca: string;
  /** `create`: the target had no such CA; `reuse`: it had the same CA (a resumed run, or a move back). */
  caAction: 'create' | 'reuse';
  /** Whether the source holds the CA key (false when its signer keeps it). */
  caKey: boolean;
  /** Certificates of the CA in the source. */
  certificates: number;
  /** Of those, revoked in the source. */
  revoked: number;
  /** Certificates the target lacked, written to it (with `dryRun`: to write). */
  copied: number;
  /**
   * Certificates the target held valid and the source revoked: marked revoked in the target
   * with the source's time and reason (with `dryRun`: to mark), so both records become identical.
   */
  revocationsCarried: number;
  /** Certificates the target already held identical, not written again. */
  skipped: number;
  /** Certificates only the target holds (issued there, unknown to the source); kept as they are. */
  targetOnly: number;
  /** Certificates read back from the target and found identical by SHA-256 (0 with `dryRun`). */
  verified: number;
  /** The source's current CRL number. */
  crlNumber: string;
  /**
   * The target's CRL number before the run (0 for a new CA). Raised to {@link crlNumber} when
   * behind; left as it is when ahead, since CRL numbers never go backwards.
   */
  targetCrlNumber: string;
  /** With a key importer: whether the CA key goes into the importing signer rather than the target store. */
  caKeyImported?: boolean;
  /** With `deleteSource`: whether the CA was deleted from the source (false in a dry run: it would be). */
  sourceDeleted?: boolean;
}

/** The outcome of `migrateStores`. */
export interface MigrationResult {
  from: string;
  to: string;
  dryRun: boolean;
  /** Whether the source CAs are (with `dryRun`: would be) deleted after verification. */
  deleteSource: boolean;
  cas: CaMigration[];
  /** Things the operator should know (e.g. a CA whose key stays with its signer). */
  warnings: string[];
  /** With a key importer: its name, for messages. */
  keyImporter?: string;
  /** What a key importer did (e.g. where it put the key). */
  notes?: string[];
}
