import { X509Certificate } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import { ConfigError } from '../../core/errors';
import { generateEncodedKey } from '../../core/key-encoding';
import { signsWithCaKey } from '../../core/signer';
import { buildCsrDer } from '../../core/x509/csr-builder';
import { certificateParts } from '../../core/x509/der-reader';
import { pemBlocks } from '../../core/x509/pem';
import { createDerSigner } from '../../core/x509/signing';
import type { CaServices } from '../ca-services';
import type { ServeOptions } from '../config';
import type { ResponderIdentity } from './ocsp-response';

/** A CA's OCSP signer as the responder uses it. */
export interface CaResponder extends ResponderIdentity {
  mode: 'ca' | 'delegated';
  /** serve.ocsp.responder when it was made: a SIGHUP that changes it makes a new one. */
  requested: ServeOptions['ocsp']['responder'];
  /** When the delegated certificate is renewed (two thirds into its life); undefined for the CA key. */
  renewAt?: number;
  /** The delegated certificate's serial, for logs. */
  serial?: string;
}

/** A failed renewal is tried again after this long; the current certificate still has a third of its life. */
const RETRY_MS = 60_000;

/**
 * Who signs each CA's OCSP answers (serve.ocsp.responder): the CA key, lent by a signer with the
 * `caKeySigning` capability (the core's LocalSigner: file, barbican, pkcs11); or a delegated
 * responder certificate (RFC 6960 4.2.2.2: profile `ocsp`, id-kp-OCSPSigning and
 * id-pkix-ocsp-nocheck) that the server issues itself from the CA with a key made and kept in
 * memory, and renews two thirds into its life. A remote CA (Vault PKI) signs only what it builds,
 * so `auto` picks the delegated certificate there. Each server instance has its own.
 */
export class ResponderKeys {
  private readonly current = new Map<string, Promise<CaResponder>>();
  private readonly renewing = new Set<string>();

  constructor(
    private readonly services: CaServices,
    private readonly options: () => ServeOptions,
    private readonly log: () => FastifyBaseLogger,
  ) {}

  /**
   * The responder of `ca`, made on first use; a delegated certificate that is due is renewed in
   * the background while the current one keeps signing.
   * @throws ConfigError when serve.ocsp.responder is `ca` and the signer cannot lend its key; what issuing throws.
   */
  async get(ca: string): Promise<CaResponder> {
    let pending = this.current.get(ca);
    if (pending && (await pending.catch(() => undefined))?.requested !== this.options().ocsp.responder) pending = undefined;
    if (!pending) {
      pending = this.make(ca);
      this.current.set(ca, pending);
      // A failure is not kept: the next request tries again.
      pending.catch(() => this.current.get(ca) === pending && this.current.delete(ca));
    }
    const responder = await pending;
    if (responder.renewAt !== undefined && Date.now() >= responder.renewAt) this.renew(ca, responder);
    return responder;
  }

  private renew(ca: string, old: CaResponder): void {
    if (this.renewing.has(ca)) return;
    this.renewing.add(ca);
    this.make(ca)
      .then((next) => {
        this.current.set(ca, Promise.resolve(next));
        this.log().info({ ca, serial: next.serial, replaces: old.serial }, 'OCSP responder certificate renewed');
      })
      .catch((err: unknown) => {
        old.renewAt = Date.now() + RETRY_MS;
        this.log().error({ ca, error: (err as Error).message }, 'could not renew the OCSP responder certificate; retrying in a minute');
      })
      .finally(() => this.renewing.delete(ca));
  }

  /**
   * Refuses, at start-up, serve.ocsp.responder `ca` with a signer that cannot lend its key.
   * @throws ConfigError saying what to configure instead.
   */
  check(ca: string): void {
    const signer = this.services.signer(ca);
    if (this.options().ocsp.responder === 'ca' && !signsWithCaKey(signer)) {
      throw new ConfigError(
        `serve.ocsp.responder: ca — the ${signer.kind} signer does not lend its CA key to sign OCSP answers (a remote CA signs only what it builds); use delegated or auto`,
      );
    }
  }

  private async make(ca: string): Promise<CaResponder> {
    const wanted = this.options().ocsp.responder;
    const signer = this.services.signer(ca);
    this.check(ca);
    if (wanted !== 'delegated' && signsWithCaKey(signer)) {
      const record = await this.services.service(ca).requireCa();
      const der = pemBlocks(record.certPem, 'CERTIFICATE')[0];
      return {
        mode: 'ca',
        requested: wanted,
        subjectDer: certificateParts(der).subjectDer,
        signer: await signer.caKeySigner(ca),
        notAfter: new Date(new X509Certificate(der).validTo),
      };
    }
    return this.issueDelegated(ca, wanted);
  }

  /** Issues the delegated responder certificate through the core's signing workflow (policy, store, audit), as the TLS certificate is. */
  private async issueDelegated(ca: string, requested: CaResponder['requested']): Promise<CaResponder> {
    const key = await generateEncodedKey('ec-p256');
    const commonName = `certctl OCSP responder for ${ca}`;
    const keySigner = createDerSigner(key.privateKey());
    // The CSR asks for id-pkix-ocsp-nocheck too: a remote CA that copies it from the CSR (Vault) writes it only from there.
    const csrDer = buildCsrDer({ commonName, dnsNames: [], ipAddresses: [], spkiDer: key.spkiDer, ocspNoCheck: true }, keySigner);
    const result = await this.services
      .service(ca)
      .signRequest(
        { commonName, subject: {}, dnsNames: [], ipAddresses: [], uris: [], emails: [], spkiDer: key.spkiDer, keyType: 'ec-p256', csrDer, ignored: [] },
        'ocsp',
        this.options().ocsp.responderTtlSeconds,
        'the OCSP responder certificate (serve.ocsp)',
        { auditDetail: { purpose: 'certctl serve OCSP responder' } },
      );
    const item = result.items[0];
    const der = pemBlocks(item.certPem, 'CERTIFICATE')[0];
    const notBefore = Date.parse(item.record.notBefore);
    const notAfter = Date.parse(item.record.notAfter);
    return {
      mode: 'delegated',
      requested,
      subjectDer: certificateParts(der).subjectDer,
      signer: keySigner,
      certificateDer: der,
      notAfter: new Date(notAfter),
      renewAt: notBefore + ((notAfter - notBefore) * 2) / 3,
      serial: item.record.serial,
    };
  }
}
