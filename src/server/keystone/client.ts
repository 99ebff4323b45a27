import * as z from 'zod/mini';
import { transportFailure } from '../../backends/http/errors';
import { TransportError, type HttpRequest, type HttpResponse, type HttpTransport } from '../../backends/http/transport';
import { BackendAuthError, BackendUnavailableError, ConfigError, type CertctlError } from '../../core/errors';
import type { KeystoneOptions } from '../config';

/** What Keystone says of a caller's token: who, in which project, with which roles, until when. */
export interface TokenInfo {
  userId: string;
  userName: string;
  projectId?: string;
  projectName?: string;
  /** Role names in the token's scope, implied roles included (Keystone expands them). */
  roles: string[];
  /** Milliseconds since the epoch. */
  expiresAt: number;
}

const tokenBody = z.object({
  token: z.object({
    expires_at: z.string(),
    user: z.object({ id: z.string(), name: z.string() }),
    project: z.optional(z.object({ id: z.string(), name: z.string() })),
    roles: z.optional(z.array(z.object({ name: z.string() }))),
  }),
});

/** A status Keystone answered that the call did not expect; the cause of the CertctlError it becomes. */
class KeystoneStatusError extends Error {
  constructor(readonly status: number) {
    super(`HTTP ${status}`);
  }
}

/** Renew certctl's own service token this long before Keystone says it expires. */
const SERVICE_TOKEN_MARGIN_MS = 60_000;

/**
 * certctl serve's client of Keystone v3: it logs in as its own service user (password, scoped to
 * a project) and validates callers' tokens with `GET /v3/auth/tokens` (X-Subject-Token), as
 * keystonemiddleware does for OpenStack's own services. Keystone's failures become certctl errors
 * here, at the client boundary; no message holds a token or a password.
 */
export class KeystoneClient {
  private serviceToken?: { value: string; expiresAt: number };
  private login?: Promise<string>;

  constructor(
    private readonly options: KeystoneOptions,
    private readonly http: HttpTransport,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * What Keystone knows of `subjectToken`, or undefined when it does not accept it (unknown,
   * expired or revoked: Keystone answers 404). A refused service token is replaced once.
   * @throws BackendUnavailableError when Keystone cannot be reached or fails; BackendAuthError when it refuses certctl's service user; ConfigError for a wrong URL or TLS trust.
   */
  async validate(subjectToken: string): Promise<TokenInfo | undefined> {
    const url = `${this.options.url}/auth/tokens?nocatalog`;
    for (let attempt = 0; ; attempt++) {
      const service = await this.token();
      const res = await this.send({ method: 'GET', url, headers: { 'X-Auth-Token': service, 'X-Subject-Token': subjectToken }, idempotent: true });
      if (res.status === 200) return this.parsed(res);
      if (res.status === 404) return undefined;
      // Our own token expired early or was revoked: log in again, once.
      if (res.status === 401 && attempt === 0) {
        this.serviceToken = undefined;
        continue;
      }
      throw this.statusFailure(res.status, 'validating a token');
    }
  }

  /** certctl's own token, fetched once and shared by concurrent requests until shortly before it expires. */
  private async token(): Promise<string> {
    if (this.serviceToken && this.serviceToken.expiresAt - SERVICE_TOKEN_MARGIN_MS > this.now()) return this.serviceToken.value;
    this.login ??= this.passwordLogin().finally(() => (this.login = undefined));
    return this.login;
  }

  private async passwordLogin(): Promise<string> {
    const o = this.options;
    const scope = 'id' in o.project ? { id: o.project.id } : { name: o.project.name, domain: { name: o.project.domain } };
    const body = {
      auth: {
        identity: { methods: ['password'], password: { user: { name: o.username, domain: { name: o.userDomain }, password: o.password() } } },
        scope: { project: scope },
      },
    };
    const res = await this.send({ method: 'POST', url: `${o.url}/auth/tokens?nocatalog`, body });
    if (res.status !== 201 && res.status !== 200) throw this.statusFailure(res.status, 'logging in as its service user');
    const value = res.headers['x-subject-token'];
    const info = this.parsed(res);
    if (!value)
      throw new BackendUnavailableError(
        `${this.where()} answered the service login without an X-Subject-Token header; is serve.keystone.url Keystone's v3 URL?`,
      );
    this.serviceToken = { value, expiresAt: info.expiresAt };
    return value;
  }

  private async send(request: HttpRequest): Promise<HttpResponse> {
    try {
      return await this.http.send(request);
    } catch (err) {
      if (!(err instanceof TransportError)) throw err;
      const trust = this.options.caFile
        ? `serve.keystone.ca_file (${this.options.caFile}) does not vouch for its certificate`
        : 'set serve.keystone.ca_file to the CA bundle that signed its certificate';
      throw transportFailure(err, this.where(), this.options.timeoutMs, trust, 'serve.keystone.timeout');
    }
  }

  /** A token body as TokenInfo. @throws BackendUnavailableError for a body of another shape. */
  private parsed(res: HttpResponse): TokenInfo {
    const parsed = tokenBody.safeParse(res.data);
    const expiresAt = parsed.success ? Date.parse(parsed.data.token.expires_at) : NaN;
    if (!parsed.success || Number.isNaN(expiresAt)) {
      throw new BackendUnavailableError(`${this.where()} answered a token without user, roles or expiry; is serve.keystone.url Keystone's v3 URL?`);
    }
    const t = parsed.data.token;
    return {
      userId: t.user.id,
      userName: t.user.name,
      projectId: t.project?.id,
      projectName: t.project?.name,
      roles: (t.roles ?? []).map((r) => r.name),
      expiresAt,
    };
  }

  /** A status the call did not expect, as the error kind that says what to fix. */
  private statusFailure(status: number, doing: string): CertctlError {
    const cause = { cause: new KeystoneStatusError(status) };
    const where = this.where();
    if (status === 401 || status === 403) {
      return new BackendAuthError(
        `${where} refused certctl's service user ${this.options.username} (${status}) ${doing}; check serve.keystone.username, its password (password_file or CERTCTL_KEYSTONE_PASSWORD), its project, and that it holds the service (or admin) role there`,
        cause,
      );
    }
    if (status >= 500) return new BackendUnavailableError(`${where} failed (${status}) ${doing}; retry later or check its log`, cause);
    if (status === 400 || status === 404 || (status >= 300 && status < 400)) {
      return new ConfigError(`${where} answered ${status} ${doing}; serve.keystone.url must be Keystone's v3 URL, ending in /v3`, cause);
    }
    return new BackendUnavailableError(`${where} answered ${status} ${doing}`, cause);
  }

  private where(): string {
    return `Keystone at ${new URL(this.options.url).origin}`;
  }
}
