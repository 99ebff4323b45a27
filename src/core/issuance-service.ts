import { randomUUID } from 'node:crypto';
import { inject, injectable } from 'inversify';
import { CertStore, keepsAudit } from './cert-store';
import { ResolvedConfig } from './config/load';
import { parseCsr } from './csr';
import { InvalidInputError, NotFoundError, NotSupportedError } from './errors';
import { expiryReport, type ExpiryReport } from './expiry';
import { withLeftovers } from './fs-atomic';
import { generateEncodedKey } from './key-encoding';
import { signLeaves, type PreparedLeaf } from './leaf-signing';
import { checkKeyType, checkNames, checkValidity } from './policy/check';
import { chainNameConstraints, checkCreatedConstraints, checkNameConstraints } from './policy/name-constraints';
import { checkOtherNames, type CheckedOtherNames } from './policy/other-names';
import { keyUsageFor, leafProfile, type Profile } from './policy/profiles';
import { checkSubject } from './policy/subject-policy';
import { newSerial } from './serial';
import { caNotAfter, intermediateItem, requestedSubject, rootConstraintsRefused } from './ca-records';
import { Signer, canRevoke, isRemoteSigner, listsIssuedSerials, reportsWarnings, type LeafSpec } from './signer';
import type { CaRecord, CertificateRecord, KeyType, ListFilter, RevocationReason } from './types';
import { PolicyError } from './errors';
import type { SubjectAttributes } from './x509/subject';
import { buildCsrDer } from './x509/csr-builder';
import { createDerSigner } from './x509/signing';
import { withOwnWarnings } from './warning-scope';
import type { Delivery, InitRequest, IssueRequest, IssueResult, RequestedCertificate, SignOptions } from './issuance-types';

export type { AuthorizedNames, Delivery, InitRequest, IssueRequest, IssueResult, RequestedCertificate, SignOptions } from './issuance-types';

/**
 * The one issuance workflow (DESIGN.md "The flow of one request"): resolve profile,
 * check policy, make or take the key, have the Signer sign, have the CertStore keep
 * it, record an audit event. It never knows which backend it talks to.
 */
@injectable()
export class IssuanceService {
  constructor(
    @inject(Signer) private readonly signer: Signer,
    @inject(CertStore) private readonly store: CertStore,
    @inject(ResolvedConfig) private readonly config: ResolvedConfig,
  ) {}

  /** The CA name commands act on. */
  get caName(): string {
    return this.config.ca;
  }

  /**
   * Creates the CA (root, or intermediate with `parent`).
   * @throws ConflictError when it exists; NotFoundError for a missing parent; PolicyError for a TTL past the parent's
   *   or a CN outside the chain's name constraints; InvalidInputError for name constraints on a root.
   */
  async init(req: InitRequest): Promise<{ record: CaRecord; notes: string[] }> {
    const keyType = req.keyType ?? 'ec-p256';
    const now = Math.floor(Date.now() / 1000);
    let ttl = req.ttlSeconds ?? (req.parent ? this.config.profiles.intermediate.defaultTtlSeconds : 10 * 365 * 86400);
    if (req.nameConstraints && !req.parent) throw rootConstraintsRefused();
    if (req.parent) {
      const parent = await this.requireCa(req.parent);
      checkNameConstraints(chainNameConstraints(parent), { commonName: req.commonName, dnsNames: [], ipAddresses: [] });
      const validity = checkValidity(this.config.profiles.intermediate, req.ttlSeconds, caNotAfter(parent));
      ttl = Math.floor(validity.notAfter.getTime() / 1000) - now;
    }
    const created = await this.signer.createCa({
      name: this.config.ca,
      commonName: req.commonName,
      keyType,
      notBefore: new Date((now - 60) * 1000),
      notAfter: new Date((now + ttl) * 1000),
      parent: req.parent,
      passphrase: req.passphrase,
      existingKeyLabel: req.existingKeyLabel,
      nameConstraints: req.nameConstraints,
    });
    checkCreatedConstraints(created.record.certPem, req.nameConstraints, this.signer.kind);
    // The parent's inventory lists its intermediate, so the parent can show and revoke it.
    if (req.parent) await this.store.putIssued(req.parent, [intermediateItem(created.record.certPem, req.commonName, keyType)]);
    await this.store.createCa(created.record, created.keyPem);
    if (keepsAudit(this.store))
      await this.store.recordEvent({ at: new Date().toISOString(), action: 'ca.create', ca: this.config.ca, detail: { parent: req.parent, keyType } });
    return { record: created.record, notes: created.notes ?? [] };
  }

  /**
   * The CA record of the current CA.
   * @throws NotFoundError when it does not exist.
   */
  async requireCa(name = this.config.ca): Promise<CaRecord> {
    const ca = await this.store.getCa(name);
    if (!ca) {
      throw new NotFoundError(
        `no CA named "${name}" in the ${this.store.kind} store; create it with \`certctl init --cn NAME\`${name === 'default' ? '' : ` --ca ${name}`} or pick another with --ca`,
      );
    }
    return ca;
  }

  /**
   * Issues certificates with keys generated here.
   * @throws InvalidInputError / PolicyError before any backend call when the request breaks policy.
   */
  async issue(req: IssueRequest, delivery?: Delivery): Promise<IssueResult> {
    return this.warningScope(() => this.issueInScope(req, delivery));
  }

  private async issueInScope(req: IssueRequest, delivery?: Delivery): Promise<IssueResult> {
    const ca = await this.requireCa();
    const profile = leafProfile(this.config.profiles, req.profile, 'issue');
    const count = req.count ?? 1;
    if (!Number.isInteger(count) || count < 1 || count > 100000) {
      throw new InvalidInputError(`--count must be a whole number from 1 to 100000, not ${req.count}`);
    }
    if (count > 1 && req.commonName && !profile.uuidCommonName) {
      throw new InvalidInputError(
        `--count ${count} would issue several ${req.profile} certificates with one CN; use --count only with \`issue node\` (each node gets its own UUID)`,
      );
    }
    if (!req.commonName && !profile.uuidCommonName) {
      throw new InvalidInputError(`issue ${req.profile} needs --cn NAME (the subject common name)`);
    }
    const keyType = req.keyType ?? profile.defaultKeyType;
    checkKeyType(profile, keyType, '--key-type');
    const validity = checkValidity(profile, req.ttlSeconds, caNotAfter(ca), new Date(), req.defaultTtlSeconds);
    // Names are checked once up front; a node without --cn gets a fresh UUID per certificate (Flocker).
    const checked = checkNames(profile, req.commonName ?? '', req.dnsNames ?? [], req.ipAddresses ?? [], 'request');
    checkNameConstraints(chainNameConstraints(ca), checked);
    const { subject } = checkSubject(profile.name, profile.subject, req.subject ?? {}, false, 'request');
    const others = checkOtherNames(profile, req.uris ?? [], req.emails ?? [], 'request');
    const needsUuid = profile.uuidCommonName && !req.commonName;
    const warnings = validity.warning ? [validity.warning] : [];

    this.takeSignerWarnings();
    const leaf = async (remote: boolean): Promise<PreparedLeaf> => {
      const key = await generateEncodedKey(keyType);
      const names = { ...(needsUuid ? { ...checked, commonName: randomUUID() } : checked), ...others, subject };
      // A remote CA takes the key from a CSR: built here, with the key certctl just made, so the key stays in the core.
      const csrDer = remote
        ? buildCsrDer(
            { commonName: names.commonName, subject, dnsNames: [], ipAddresses: [], spkiDer: key.spkiDer, ocspNoCheck: profile.ocspNoCheck },
            createDerSigner(key.privateKey()),
          )
        : undefined;
      return { spec: this.leafSpec(profile, names, keyType, key.spkiDer, validity, csrDer), keyPem: key.pkcs8Pem };
    };
    const items = await signLeaves(this.signer, ca, req.profile, count, leaf, req.onProgress);
    warnings.push(...this.takeSignerWarnings());
    const result = { items, ca, warnings };
    await this.storeAndDeliver(result, delivery, () =>
      this.audit(
        'issue',
        items.map((i) => i.record.serial),
        { profile: req.profile },
      ),
    );
    return result;
  }

  /**
   * Signs a CSR (Magnum's ca-sign). The CSR's CA bit, key usages and EKUs are never honoured.
   * @throws InvalidInputError for a malformed or badly signed CSR; PolicyError for CA:true, weak keys, names outside policy
   *   (or refused by `options.authorize`).
   */
  async signCsr(csrPem: string, profileName: string, ttlSeconds: number | undefined, source: string, options: SignOptions = {}): Promise<IssueResult> {
    return this.signRequest(await parseCsr(csrPem, source), profileName, ttlSeconds, source, options);
  }

  /**
   * Signs what a caller asked for with its own key: a parsed CSR, or (a renewal over mTLS without a CSR) the names and
   * public key of the certificate being renewed, with no `csrDer`.
   * @throws as {@link signCsr}; NotSupportedError without a CSR when the signer is a remote CA (it signs only CSRs).
   */
  async signRequest(
    request: RequestedCertificate,
    profileName: string,
    ttlSeconds: number | undefined,
    source: string,
    options: SignOptions = {},
  ): Promise<IssueResult> {
    return this.warningScope(() => this.signInScope(request, profileName, ttlSeconds, source, options));
  }

  private async signInScope(
    csr: RequestedCertificate,
    profileName: string,
    ttlSeconds: number | undefined,
    source: string,
    options: SignOptions,
  ): Promise<IssueResult> {
    const ca = await this.requireCa();
    const profile = leafProfile(this.config.profiles, profileName, '--profile');
    checkKeyType(profile, csr.keyType, source);
    const checked = checkNames(profile, csr.commonName, csr.dnsNames, csr.ipAddresses, source);
    const { subject, ignored } = checkSubject(profile.name, profile.subject, csr.subject, true, source);
    checkNameConstraints(chainNameConstraints(ca), checked);
    const names = { ...checked, ...checkOtherNames(profile, csr.uris, csr.emails, source), subject };
    if (!names.commonName && names.dnsNames.length === 0 && names.ipAddresses.length === 0 && names.uris.length === 0 && names.emails.length === 0) {
      throw new InvalidInputError(`${source}: the request has neither a subject CN nor a SAN; a certificate must name its subject`);
    }
    if (!csr.csrDer && isRemoteSigner(this.signer)) {
      throw new NotSupportedError(`the ${this.signer.kind} signer signs only CSRs; send a CSR with the request (a new key)`);
    }
    // Every policy check (the validity too) before `authorize`: it may spend a one-time token.
    const validity = checkValidity(profile, ttlSeconds, caNotAfter(ca), new Date(), options.defaultTtlSeconds);
    await options.authorize?.({ profile: profile.name, ca: ca.name, ...names });
    const spec = this.leafSpec(profile, names, csr.keyType, csr.spkiDer, validity, csr.csrDer);
    const [item] = await signLeaves(this.signer, ca, profileName, 1, () => Promise.resolve({ spec }));
    await this.store.putIssued(ca.name, [item]);
    await this.audit('issue', [item.record.serial], { profile: profileName, csr: Boolean(csr.csrDer), ...options.auditDetail });
    const warnings = validity.warning ? [validity.warning] : [];
    warnings.push(...this.takeSignerWarnings());
    if (ignored.length || csr.ignored.length) warnings.push(`not taken from the CSR: ${[...ignored, ...csr.ignored].join(', ')}`);
    return { items: [item], ca, warnings };
  }

  /**
   * Re-issues a certificate: same subject, SANs, profile and key type, a new key and a new serial.
   * @throws NotFoundError for an unknown serial.
   */
  async renew(serial: string, ttlSeconds?: number, delivery?: Delivery): Promise<IssueResult> {
    const found = await this.requireCertificate(serial);
    const r = found.record;
    if (r.profile === 'intermediate') {
      throw new InvalidInputError(`serial ${serial} is an intermediate CA; renew a CA with \`certctl init --parent\``);
    }
    const warnings =
      r.status === 'revoked' && r.revocationReason === 'keyCompromise'
        ? [`serial ${serial} was revoked for keyCompromise; the renewal has a new key, but check how the old one leaked`]
        : [];
    const originalTtl = Math.round((Date.parse(r.notAfter) - Date.parse(r.notBefore)) / 1000) - 60;
    const result = await this.issue(
      {
        profile: r.profile,
        commonName: r.commonName || undefined,
        subject: requestedSubject(this.config.profiles[r.profile], r.subject),
        dnsNames: r.dnsNames,
        ipAddresses: r.ipAddresses,
        uris: r.uris,
        emails: r.emails,
        keyType: r.keyType,
        ttlSeconds,
        defaultTtlSeconds: originalTtl,
      },
      delivery,
    );
    return { ...result, warnings: [...warnings, ...result.warnings] };
  }

  /**
   * Revokes certificates, all or none; they appear on the next CRL.
   * @throws NotFoundError for an unknown serial; ConflictError when one is already revoked.
   */
  async revoke(serials: string[], reason: RevocationReason): Promise<CertificateRecord[]> {
    const ca = await this.requireCa();
    const records = await this.store.markRevoked(ca.name, serials, reason, new Date());
    if (canRevoke(this.signer)) for (const serial of serials) await this.signer.revoke(ca.name, serial);
    await this.audit('revoke', serials, { reason });
    return records;
  }

  /** A freshly signed PEM CRL of every revoked certificate of the CA. */
  async crl(): Promise<string> {
    const ca = await this.requireCa();
    const revoked = await this.store.list(ca.name, { revokedOnly: true });
    return this.signer.crl(ca.name, revoked);
  }

  /** Inventory records of the CA. */
  async list(filter: ListFilter): Promise<CertificateRecord[]> {
    const ca = await this.requireCa();
    return this.store.list(ca.name, filter);
  }

  /**
   * The CA's certificates expiring within `windowSeconds` from `now`, optionally of one profile, with
   * those already renewed set apart (see {@link expiryReport}).
   * @throws NotFoundError when the CA does not exist.
   */
  async expiring(windowSeconds: number, profile?: string, now = new Date()): Promise<ExpiryReport> {
    return expiryReport(await this.list({}), windowSeconds, now, profile);
  }

  /**
   * Cross-checks inventory records with a remote CA's own list (a SerialListingSigner): warnings for
   * records the CA does not know, e.g. written by hand or from another mount.
   */
  async crossCheck(records: CertificateRecord[]): Promise<string[]> {
    if (!listsIssuedSerials(this.signer) || records.length === 0) return [];
    // One record (`show`): one lookup; more (`list`): the CA's whole list once.
    const signer = this.signer;
    const unknown =
      records.length === 1
        ? (await signer.hasIssued(records[0].serial))
          ? []
          : [records[0].serial]
        : await signer.issuedSerials().then((known) => records.filter((r) => !known.has(r.serial)).map((r) => r.serial));
    if (unknown.length === 0) return [];
    const shown = unknown.slice(0, 5).join(', ') + (unknown.length > 5 ? `, … (${unknown.length - 5} more)` : '');
    return [
      `${unknown.length} certificate${unknown.length === 1 ? ' in the inventory is' : 's in the inventory are'} unknown to the ${this.signer.kind} signer: ${shown}; expected for certificates signed before the CA key moved into it (\`migrate --import-ca-key\`), otherwise they were not signed by this CA`,
    ];
  }

  /**
   * One certificate's record and PEM.
   * @throws NotFoundError for an unknown serial.
   */
  async requireCertificate(serial: string): Promise<{ record: CertificateRecord; certPem: string; ca: CaRecord }> {
    const ca = await this.requireCa();
    const found = await this.store.get(ca.name, serial);
    if (!found) throw new NotFoundError(`no certificate with serial ${serial} in CA "${ca.name}"; \`certctl list\` shows the serials`);
    return { ...found, ca };
  }

  /**
   * The stored leaf key of a certificate.
   * @throws NotFoundError when the store holds none (e.g. signed from a CSR).
   */
  async requireKey(serial: string): Promise<string> {
    const ca = await this.requireCa();
    const key = await this.store.getKey(ca.name, serial);
    if (!key) {
      throw new NotFoundError(
        `the store holds no private key for serial ${serial} (it was signed from a CSR, so the key stayed with its owner); export it with --format pem, or renew it to get a new key`,
      );
    }
    return key;
  }

  /**
   * Stores issued certificates between staging their outputs and making them visible; once
   * stored, the outputs are committed and the issuance audited at the same time (their fsyncs
   * overlap), and the first of their errors is thrown after both have finished.
   */
  private async storeAndDeliver(result: IssueResult, delivery: Delivery | undefined, audit: () => Promise<void>): Promise<void> {
    const staged = delivery ? await delivery(result) : undefined;
    try {
      await this.store.putIssued(result.ca.name, result.items);
    } catch (err) {
      throw withLeftovers(err, staged?.abort() ?? []);
    }
    const failed = (await Promise.allSettled([staged?.commit(), audit()])).find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  private leafSpec(
    profile: Profile,
    names: { commonName: string; dnsNames: string[]; ipAddresses: string[]; subject: SubjectAttributes } & CheckedOtherNames,
    keyType: KeyType,
    spkiDer: Buffer,
    validity: { notBefore: Date; notAfter: Date },
    csrDer: Buffer | undefined,
  ): LeafSpec {
    const keyUsage = keyUsageFor(profile, keyType);
    if (keyUsage.length === 0) {
      throw new PolicyError(`profiles.${profile.name}.key_usage leaves no usage a ${keyType} key can perform; add digitalSignature or use another key type`);
    }
    return {
      serial: newSerial(),
      commonName: names.commonName,
      ...(Object.keys(names.subject).length ? { subject: names.subject } : {}),
      dnsNames: names.dnsNames,
      ipAddresses: names.ipAddresses,
      ...(names.uris.length ? { uris: names.uris } : {}),
      ...(names.emails.length ? { emails: names.emails } : {}),
      notBefore: validity.notBefore,
      notAfter: validity.notAfter,
      keyType,
      spkiDer,
      keyUsage,
      extKeyUsage: profile.extKeyUsage,
      basicConstraints: { ca: false },
      ...(profile.ocspNoCheck ? { ocspNoCheck: true } : {}),
      csrDer,
    };
  }

  private async audit(action: 'issue' | 'revoke', serials: string[], detail: Record<string, unknown>): Promise<void> {
    if (keepsAudit(this.store)) await this.store.recordEvent({ at: new Date().toISOString(), action, ca: this.config.ca, serials, detail });
  }

  /**
   * Runs an operation in a warning scope of its own (warning-scope.ts) when the signer collects
   * warnings; a signer that does not (the local one) needs none, and spares the command async_hooks.
   */
  private warningScope<T>(fn: () => Promise<T>): Promise<T> {
    return reportsWarnings(this.signer) ? withOwnWarnings(fn) : fn();
  }

  /** Warnings the signer collected (a remote CA capping a TTL), emptied by the call. */
  private takeSignerWarnings(): string[] {
    return reportsWarnings(this.signer) ? this.signer.takeWarnings() : [];
  }
}
