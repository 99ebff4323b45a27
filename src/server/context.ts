import type { FastifyRequest } from 'fastify';
import { UnauthorizedError } from '../core/errors';
import type { ResolvedConfig } from '../core/config/load';
import { rolesOfCertificate, type Principal } from './access';
import type { CaServices } from './ca-services';
import type { ServeOptions } from './config';
import { ClientCertificates } from './identity';
import type { ServerMetrics } from './metrics';

/**
 * One way a caller proves who it is besides its client certificate (a Keystone token, an
 * enrollment token): undefined when the request does not use it; throws UnauthorizedError when it
 * does and the proof is refused.
 */
export type Authenticator = (request: FastifyRequest, context: ServerContext) => Promise<Principal | undefined>;

/** Called after a revocation, so caches of that CA (CRL, OCSP answers) are dropped. */
export type RevocationListener = (ca: string, serials: string[]) => void;

/** What every route of the server shares: the configuration, the core per CA, who is calling, metrics. */
export class ServerContext {
  readonly certificates: ClientCertificates;
  private readonly authenticators: Authenticator[] = [];
  private readonly revocationListeners: RevocationListener[] = [];
  private readonly principals = new WeakMap<FastifyRequest, Promise<Principal | undefined>>();

  constructor(
    public options: ServeOptions,
    readonly services: CaServices,
    readonly metrics: ServerMetrics,
  ) {
    this.certificates = new ClientCertificates(services);
  }

  /** Adds a way to authenticate; tried in order after the client certificate. */
  addAuthenticator(authenticator: Authenticator): void {
    this.authenticators.push(authenticator);
  }

  /** Registers a cache to drop on revocation. */
  onRevoked(listener: RevocationListener): void {
    this.revocationListeners.push(listener);
  }

  /** Tells the caches a CA's certificates were revoked (by this instance). */
  revoked(ca: string, serials: string[]): void {
    for (const listener of this.revocationListeners) listener(ca, serials);
  }

  /** SIGHUP: new options and configuration for the requests that follow. */
  reload(options: ServeOptions, config: ResolvedConfig): void {
    this.options = options;
    this.services.reload(config);
    this.certificates.reset();
  }

  /**
   * Who is calling, once per request: the client certificate first, then the other authenticators.
   * @throws UnauthorizedError when a presented proof is refused (a revoked certificate is refused even if a token is sent too).
   */
  principal(request: FastifyRequest): Promise<Principal | undefined> {
    let found = this.principals.get(request);
    if (!found) {
      found = this.findPrincipal(request);
      this.principals.set(request, found);
    }
    return found;
  }

  /**
   * The caller, who must have proved itself.
   * @throws UnauthorizedError (401) naming the ways to authenticate.
   */
  async requirePrincipal(request: FastifyRequest): Promise<Principal> {
    const principal = await this.principal(request);
    if (!principal) {
      throw new UnauthorizedError(
        'this endpoint needs a client certificate issued by this CA (mTLS)' +
          (this.options.keystone ? ', or a Keystone token in X-Auth-Token' : '') +
          ', or an enrollment token (Authorization: Bearer)',
      );
    }
    return principal;
  }

  private async findPrincipal(request: FastifyRequest): Promise<Principal | undefined> {
    const identity = await this.certificates.identify(request);
    if (identity)
      return { kind: 'certificate', id: `${identity.ca}/${identity.serial}`, roles: rolesOfCertificate(this.options, identity), certificate: identity };
    for (const authenticate of this.authenticators) {
      const principal = await authenticate(request, this);
      if (principal) return principal;
    }
    return undefined;
  }
}
