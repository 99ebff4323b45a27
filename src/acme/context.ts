import type { FastifyRequest } from 'fastify';
import type { JWK } from 'jose';
import { keepsState } from '../core/cert-store';
import { NotSupportedError } from '../core/errors';
import type { ServerContext } from '../server/context';
import type { AcmeOptions } from './config';
import { parseJws, verifyJws, type AcmeHeader } from './jws';
import { AcmeError } from './problems';
import { RateLimits } from './rate-limits';
import type { AccountRecord } from './records';
import { AcmeState, type Versioned } from './state';

/** The URLs of one CA's ACME directory, as the client reached it (its Host header). */
export class AcmeUrls {
  constructor(readonly base: string) {}

  static of(request: FastifyRequest, ca: string): AcmeUrls {
    return new AcmeUrls(`https://${request.headers.host ?? 'localhost'}/acme/${ca}`);
  }

  get directory(): string {
    return `${this.base}/directory`;
  }
  account(id: string): string {
    return `${this.base}/acct/${id}`;
  }
  order(id: string): string {
    return `${this.base}/order/${id}`;
  }
  finalize(id: string): string {
    return `${this.base}/order/${id}/finalize`;
  }
  authz(id: string): string {
    return `${this.base}/authz/${id}`;
  }
  challenge(authzId: string, type: string): string {
    return `${this.base}/chall/${authzId}/${type}`;
  }
  certificate(serial: string): string {
    return `${this.base}/cert/${serial}`;
  }
}

/** A verified ACME request: its header, payload (undefined for POST-as-GET), the key it was signed with and, with `kid`, the account. */
export interface AcmeRequest {
  header: AcmeHeader;
  payload: unknown;
  jwk: JWK;
  account?: Versioned<AccountRecord>;
  urls: AcmeUrls;
  ca: string;
}

/** What ACME's routes share: the server context, the `acme:` options, state per CA, rate limits. */
export class AcmeContext {
  readonly limits: RateLimits;

  /** The CAs whose state this process has written to, pruned now and then. */
  private readonly used = new Set<string>();

  constructor(
    readonly server: ServerContext,
    public options: AcmeOptions,
  ) {
    this.limits = new RateLimits();
  }

  /**
   * Removes expired nonces, orders and authorizations of the CAs this process served (every
   * instance prunes; a record removed twice is no error). Failures are logged, never thrown.
   */
  async prune(log: (message: string, err?: unknown) => void): Promise<void> {
    for (const ca of this.used) {
      try {
        const removed = await this.state(ca).prune();
        if (removed) log(`ACME: removed ${removed} expired records of CA "${ca}"`);
      } catch (err) {
        log(`ACME: pruning the expired records of CA "${ca}" failed`, err);
      }
    }
  }

  /**
   * ACME's state in the CA's store.
   * @throws NotSupportedError when the store keeps no server state (Barbican: no compare-and-set).
   */
  state(ca: string): AcmeState {
    if (!this.options.cas.includes(ca)) {
      throw new AcmeError('malformed', `CA "${ca}" serves no ACME directory (certctl.yaml acme.cas: ${this.options.cas.join(', ') || 'none'})`, {
        status: 404,
      });
    }
    const store = this.server.services.store(ca);
    this.used.add(ca);
    if (!keepsState(store)) {
      throw new NotSupportedError(
        `the ${store.kind} store keeps no server state (it has no compare-and-set), so it cannot serve ACME; use the file or vault store`,
      );
    }
    return new AcmeState(store);
  }

  /**
   * Checks a POST (RFC 8555 §6.2–6.5): JWS structure and header, the key (`jwk` where `keyFrom`
   * allows it, else the account of `kid`), the signature, then uses up the nonce.
   * @throws AcmeError malformed, unauthorized, accountDoesNotExist, badNonce, badSignatureAlgorithm.
   */
  async verify(request: FastifyRequest, ca: string, keyFrom: 'jwk' | 'kid' | 'either'): Promise<AcmeRequest> {
    const urls = AcmeUrls.of(request, ca);
    const url = `https://${request.headers.host ?? 'localhost'}${request.url}`;
    const parsed = parseJws(request.body, url);
    const state = this.state(ca);
    let account: Versioned<AccountRecord> | undefined;
    if (parsed.header.kid !== undefined) {
      if (keyFrom === 'jwk') throw new AcmeError('malformed', 'this request must be signed with a jwk, not a kid');
      account = await this.accountOf(state, urls, parsed.header.kid);
    } else if (keyFrom === 'kid') {
      throw new AcmeError('malformed', 'this request must be signed with the account key and its kid (the account URL)');
    }
    const jwk = account ? account.value.jwk : (parsed.header.jwk as JWK);
    const payload = await verifyJws(parsed, jwk);
    if (typeof parsed.header.nonce !== 'string' || !(await state.consumeNonce(parsed.header.nonce))) {
      throw new AcmeError('badNonce', 'the nonce is unknown, used or expired; retry with the nonce of this answer');
    }
    return { header: parsed.header, payload, jwk, account, urls, ca };
  }

  private async accountOf(state: AcmeState, urls: AcmeUrls, kid: string): Promise<Versioned<AccountRecord>> {
    const prefix = `${urls.base}/acct/`;
    const account = kid.startsWith(prefix) ? await state.account(kid.slice(prefix.length)) : undefined;
    // One account store serves every CA: an account of another CA's directory does not exist here (its EAB, its policy).
    if (!account || account.value.ca !== urls.base.slice(urls.base.lastIndexOf('/') + 1))
      throw new AcmeError('accountDoesNotExist', `no account ${kid} in this directory`);
    if (account.value.status !== 'valid') throw new AcmeError('unauthorized', `account ${kid} is ${account.value.status}`);
    return account;
  }
}
