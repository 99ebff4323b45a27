import { ConfigError, type CertctlError } from '../../core/errors';
import type { HttpResponse, HttpTransport } from '../http/transport';
import type { BarbicanAuthOptions, BarbicanOptions } from './options';
import { passwordAuthBody } from './requests';
import { parseCatalog, parseErrorResponse, parseToken, UnexpectedResponseError, type CatalogEntry } from './responses';
import { keystoneUrls } from './urls';
import { describeHttpFailure } from './errors';

/** How a request to Barbican proves who it is, and where Barbican is. */
/** inversify token of {@link BarbicanAuth}. */
export const BarbicanAuth = Symbol.for('certctl.barbican.BarbicanAuth');

export interface BarbicanAuth {
  /** Headers to send with every Barbican request. */
  headers(): Promise<Record<string, string>>;
  /** Barbican's API root, without /v1. */
  endpoint(): Promise<string>;
  /** After a 401: forgets the token; true when a fresh one can be fetched (password method). */
  invalidate(): boolean;
  /** What to tell the operator to check when Barbican refuses us. */
  readonly hint: string;
}

/**
 * Builds the auth of the configured method.
 * @throws ConfigError for an inconsistent configuration.
 */
export function createAuth(options: BarbicanOptions, http: HttpTransport): BarbicanAuth {
  const auth = options.auth;
  if (auth.method === 'noauth') return new NoAuth(auth.projectId, options.endpoint!);
  return new KeystoneAuth(auth, options, http);
}

/** Development servers with Barbican's `unauthenticated-context` pipeline: the project comes from a header. */
class NoAuth implements BarbicanAuth {
  readonly hint: string;
  constructor(
    private readonly projectId: string,
    private readonly url: string,
  ) {
    this.hint = `the noauth project id "${projectId}" (barbican.auth.project_id) and that the server really runs without Keystone`;
  }
  async headers() {
    return { 'X-Project-Id': this.projectId };
  }
  async endpoint() {
    return this.url;
  }
  invalidate() {
    return false;
  }
}

/**
 * Keystone v3: a password gets a project-scoped token and the catalog (one call per process);
 * a pre-issued token is used as given, the catalog fetched with it when no endpoint is configured.
 */
class KeystoneAuth implements BarbicanAuth {
  readonly hint: string;
  private token?: string;
  private catalog?: CatalogEntry[];
  private pending?: Promise<void>;

  constructor(
    private readonly auth: Exclude<BarbicanAuthOptions, { method: 'noauth' }>,
    private readonly options: BarbicanOptions,
    private readonly http: HttpTransport,
  ) {
    this.hint =
      auth.method === 'password'
        ? `the Keystone user ${auth.username} (OS_USERNAME), its password (OS_PASSWORD or barbican.auth.password_file) and its role (creator or admin) on project ${auth.projectName ?? auth.projectId}`
        : 'that the token (OS_TOKEN) is still valid and scoped to the project that owns the secrets';
    if (auth.method === 'token') this.token = auth.token;
  }

  async headers() {
    await this.ensureToken();
    return { 'X-Auth-Token': this.token! };
  }

  async endpoint(): Promise<string> {
    if (this.options.endpoint) return this.options.endpoint;
    await this.ensureToken();
    if (!this.catalog) {
      if (this.auth.method !== 'token' || !this.auth.authUrl) throw new ConfigError('barbican.endpoint: not set and no Keystone catalog to find it in');
      const url = keystoneUrls.catalog(this.auth.authUrl);
      const res = await this.send('GET', url, [200], { 'X-Auth-Token': this.token! });
      this.catalog = this.parsed(() => parseCatalog(res.data), url);
    }
    const service = this.catalog.find((e) => e.type === 'key-manager');
    const endpoint = service?.endpoints.find(
      (e) => e.interface === this.options.interface && (!this.options.regionName || e.region === this.options.regionName),
    );
    if (!endpoint) {
      const region = this.options.regionName ? ` in region ${this.options.regionName}` : '';
      throw new ConfigError(
        `barbican.endpoint: Keystone's catalog has no ${this.options.interface} key-manager endpoint${region}; set barbican.endpoint (or CERTCTL_BARBICAN_ENDPOINT), or barbican.interface / OS_INTERFACE and OS_REGION_NAME to one the catalog has`,
      );
    }
    return endpoint.url.replace(/\/+$/, '').replace(/\/v1$/, '');
  }

  invalidate(): boolean {
    if (this.auth.method !== 'password') return false;
    this.token = undefined;
    return true;
  }

  private async ensureToken(): Promise<void> {
    if (this.token) return;
    // One login even when several requests start at once.
    this.pending ??= this.login().finally(() => (this.pending = undefined));
    await this.pending;
  }

  private async login(): Promise<void> {
    const auth = this.auth as Extract<BarbicanAuthOptions, { method: 'password' }>;
    const url = keystoneUrls.tokens(auth.authUrl);
    const res = await this.send('POST', url, [200, 201], {}, passwordAuthBody(auth));
    const token = res.headers['x-subject-token'];
    if (!token) throw this.failure(new UnexpectedResponseError('answered without an X-Subject-Token header'), url);
    this.catalog = this.parsed(() => parseToken(res.data).catalog, url);
    this.token = token;
  }

  /**
   * Sends one request to Keystone.
   * @throws CertctlError (errors.ts) for a transport failure or a status outside `ok`.
   */
  private async send(method: 'GET' | 'POST', url: string, ok: number[], headers: Record<string, string>, body?: unknown): Promise<HttpResponse> {
    let res: HttpResponse;
    try {
      res = await this.http.send({ method, url, headers, body, idempotent: method === 'GET' });
    } catch (err) {
      throw this.failure(err, url);
    }
    if (!ok.includes(res.status)) throw this.failure(parseErrorResponse(res.status, res.data), url);
    return res;
  }

  /** Runs a response parser; a body of the wrong shape is translated like any other failure. */
  private parsed<T>(parse: () => T, url: string): T {
    try {
      return parse();
    } catch (err) {
      throw this.failure(err, url);
    }
  }

  private failure(err: unknown, url: string): CertctlError {
    return describeHttpFailure(err, 'Keystone', url, this.options, { hint: this.hint });
  }
}
