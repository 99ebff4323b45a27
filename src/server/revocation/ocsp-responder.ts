import { OCSPResponseStatus, type SingleResponse } from '@peculiar/asn1-ocsp';
import { InvalidInputError } from '../../core/errors';
import type { CaServices } from '../ca-services';
import type { ServeOptions } from '../config';
import { parseOcspRequest, quickCertId, certIdParts, type CertIdRequest, type ParsedOcspRequest } from './ocsp-request';
import { signedResponse, singleResponse, statusResponse, type CertState } from './ocsp-response';
import type { ResponderKeys } from './responder-keys';
import type { RevocationWatch } from './revocation-watch';
import type { ServedCas } from './served-cas';
import { FreshReads } from './fresh-read';

/** An OCSP answer for the HTTP layer: the status to send and the OCSPResponse DER. */
export interface OcspAnswer {
  httpStatus: number;
  der: Buffer;
  /** How the answer was made, for tests and metrics: from the cache, signed now, or an error status. */
  source: 'cache' | 'signed' | 'status';
}

/** A signed answer about one certificate, kept for requests without a nonce. */
interface CachedAnswer {
  der: Buffer;
  state: CertState['status'];
  /** The store's revocation version read before the inventory was: the answer holds at least the revocations up to it. */
  version: string | undefined;
  /** Half-way to nextUpdate: signed again after. */
  refreshAt: number;
}

/** Answers kept per CA at most; the oldest go first (a fleet's certificates each cost ~0.5 KB). */
const MAX_CACHED = 50_000;

/**
 * The OCSP responder (RFC 6960) of every CA: answers good, revoked (time and reason) or unknown
 * (a serial not in the CA's inventory) from the inventory, signed by the CA or its delegated
 * responder ({@link ResponderKeys}). The signed DER of each one-certificate, nonce-less request
 * (nginx, RFC 5019 clients) is cached by the request's CertID bytes and served as is while the
 * store's revocation version is unchanged — read per request, so a revocation through another
 * instance over the same store shows at once — and while it is fresh. A nonce, several
 * certificates, or an unknown serial is answered freshly and not kept.
 */
export class OcspResponder {
  private readonly answers = new Map<string, Map<string, CachedAnswer>>();
  private readonly signing = new Map<string, Promise<OcspAnswer>>();
  private readonly unversioned = new FreshReads<OcspAnswer>((key) => {
    const at = key.indexOf('\n');
    return this.answerOne(key.slice(0, at), certIdParts(Buffer.from(key.slice(at + 1), 'latin1')), undefined);
  });

  constructor(
    private readonly services: CaServices,
    private readonly cas: ServedCas,
    private readonly watch: RevocationWatch,
    private readonly keys: ResponderKeys,
    private readonly options: () => ServeOptions,
  ) {}

  /**
   * The answer to an OCSP request for CA `ca`: malformedRequest (HTTP 400) for what is not an OCSP
   * request, unauthorized for a certificate another issuer signed, else a signed answer.
   * @throws NotFoundError for an unknown CA; the store's and the signer's errors.
   */
  async respond(caName: string, der: Buffer): Promise<OcspAnswer> {
    const ca = await this.cas.get(caName);
    const version = await this.watch.version(ca.name);
    const quick = quickCertId(der);
    const hit = quick && this.cacheOf(ca.name).get(quick.toString('latin1'));
    if (hit && hit.version === version && Date.now() < hit.refreshAt && (version !== undefined || (await this.unchanged(ca.name, quick, hit)))) {
      return { httpStatus: 200, der: hit.der, source: 'cache' };
    }
    let request: ParsedOcspRequest;
    try {
      request = parseOcspRequest(der);
    } catch (err) {
      if (err instanceof InvalidInputError) return { httpStatus: 400, der: statusResponse(OCSPResponseStatus.malformedRequest), source: 'status' };
      throw err;
    }
    if (!request.certIds.every((id) => ca.issued(id.hashAlgorithm, id.issuerNameHash, id.issuerKeyHash))) {
      // RFC 6960 2.3: this responder does not answer for that issuer.
      return { httpStatus: 200, der: statusResponse(OCSPResponseStatus.unauthorized), source: 'status' };
    }
    const [first] = request.certIds;
    if (request.certIds.length > 1 || request.nonce) {
      const states = await Promise.all(request.certIds.map((id) => this.state(ca.name, id)));
      return (await this.sign(ca.name, request.certIds, states, request.nonce)).answer;
    }
    // Requests that arrive while an answer is being signed share it when they read the same
    // revocation version (no revocation completed in between); without versions, they share only
    // a signing that starts after they arrived (FreshReads).
    if (version === undefined) return this.unversioned.get(`${ca.name}\n${first.der.toString('latin1')}`);
    return this.once(`${ca.name}\n${version}\n${first.der.toString('latin1')}`, () => this.answerOne(ca.name, first, version));
  }

  /** Forgets a CA's answers (a revocation through this server; another's is seen by the version check). */
  drop(ca: string): void {
    this.answers.delete(ca);
  }

  /** Signs the answer about one certificate and caches it unless the serial is unknown (it may be issued later). */
  private async answerOne(ca: string, certId: CertIdRequest, version: string | undefined): Promise<OcspAnswer> {
    const state = await this.state(ca, certId);
    const { answer, refreshAt } = await this.sign(ca, [certId], [state]);
    if (state.status !== 'unknown') {
      const cached = this.cacheOf(ca);
      if (cached.size >= MAX_CACHED) cached.delete(cached.keys().next().value as string);
      cached.set(certId.der.toString('latin1'), { der: answer.der, state: state.status, version, refreshAt });
    }
    return answer;
  }

  /** Signs one answer now: thisUpdate now, nextUpdate after serve.ocsp.validity but never past the signing certificate. */
  private async sign(ca: string, certIds: CertIdRequest[], states: CertState[], nonce?: Buffer): Promise<{ answer: OcspAnswer; refreshAt: number }> {
    const responder = await this.keys.get(ca);
    const now = new Date();
    const nextUpdate = new Date(Math.min(now.getTime() + this.options().ocsp.validitySeconds * 1000, responder.notAfter.getTime()));
    const singles: SingleResponse[] = certIds.map((id, i) => singleResponse(id.der, states[i], now, nextUpdate));
    const der = signedResponse(responder, singles, now, nonce);
    return { answer: { httpStatus: 200, der, source: 'signed' }, refreshAt: now.getTime() + (nextUpdate.getTime() - now.getTime()) / 2 };
  }

  /** What the inventory says of the certificate a CertID names (by serial: the issuer was checked). */
  private async state(ca: string, certId: CertIdRequest): Promise<CertState> {
    if (!certId.serial) return { status: 'unknown' };
    const found = await this.services.store(ca).get(ca, certId.serial);
    if (!found) return { status: 'unknown' };
    const r = found.record;
    return r.status === 'revoked' ? { status: 'revoked', at: new Date(r.revokedAt ?? r.issuedAt), reason: r.revocationReason } : { status: 'good' };
  }

  /** For a store without the revocationVersion capability: whether the inventory still says what the cached answer says. */
  private async unchanged(ca: string, certIdDer: Buffer, hit: CachedAnswer): Promise<boolean> {
    return (await this.state(ca, certIdParts(certIdDer))).status === hit.state;
  }

  /** One signing per key at a time: a burst of requests for the same certificate after a change shares it. */
  private once(key: string, make: () => Promise<OcspAnswer>): Promise<OcspAnswer> {
    let pending = this.signing.get(key);
    if (!pending) {
      pending = make().finally(() => this.signing.delete(key));
      this.signing.set(key, pending);
    }
    return pending;
  }

  private cacheOf(ca: string): Map<string, CachedAnswer> {
    let cached = this.answers.get(ca);
    if (!cached) {
      cached = new Map();
      this.answers.set(ca, cached);
    }
    return cached;
  }
}
