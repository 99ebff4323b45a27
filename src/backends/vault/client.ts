import { BackendAuthError, BackendUnavailableError, CertctlError, ConflictError, InternalError, InvalidInputError, NotFoundError } from '../../core/errors';
import { transportFailure } from '../http/errors';
import { TransportError, type HttpTransport } from '../http/transport';
import { inject, injectable } from 'inversify';
import { VaultOptions } from './options';
import { VaultTransport } from './tokens';
import { scopedWarnings } from '../../core/warning-scope';

type Method = 'GET' | 'LIST' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * What a failed Vault answer means, as far as certctl tells failures apart:
 * - `sealed`: 503 while Vault is sealed;
 * - `denied`: 403, a token that is invalid, expired or revoked, or a policy without the capability;
 * - `cas-mismatch`: 400 from a KV v2 write whose check-and-set version was not the current one;
 * - `no-route`: 404 that names an error — the path is not mounted ("no handler for route") or the
 *   mount has no such endpoint ("unsupported path"), i.e. not a PKI or KV mount where one was expected;
 * - `absent`: 404 with an empty `errors` list — the endpoint exists, nothing is stored there;
 * - `rejected`: any other 4xx (400: Vault refused the request's values);
 * - `unavailable`: 429 or a 5xx other than sealed — retry later.
 */
export type VaultFailureReason = 'sealed' | 'denied' | 'cas-mismatch' | 'no-route' | 'absent' | 'rejected' | 'unavailable';

/**
 * Vault answered with an HTTP error. Kept as the `cause` of the certctl error the client throws,
 * so callers branch on {@link VaultApiError.reason} (see {@link vaultFailure}), never on text.
 * Carries Vault's own `errors` list, never the request (CSRs, keys) or its headers (the token).
 */
export class VaultApiError extends Error {
  readonly reason: VaultFailureReason;

  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    /** Vault's `errors` list, as sent. */
    readonly errors: string[],
  ) {
    super(`Vault answered ${method} ${path} with ${status}${errors.length ? `: ${errors.join('; ')}` : ''}`);
    this.name = 'VaultApiError';
    this.reason = classify(status, errors);
  }
}

/**
 * The failures Vault tells apart only in words: everything else is classified by status and by
 * whether `errors` is empty. Each line was measured on the Vault 1.14.2 server of
 * tools/vault-server (tools/vault-server/API-NOTES.md).
 */
const WORDED_FAILURES: readonly { status: number; says: RegExp; reason: VaultFailureReason }[] = [
  // Every API, authenticated or not, while sealed: 503 {"errors":["Vault is sealed"]}. Another
  // 503 (a standby that cannot forward) stays `unavailable`: both are exit 6, only the hint differs.
  { status: 503, says: /^Vault is sealed$/, reason: 'sealed' },
  // KV v2 write with options.cas 0 on an existing key, or a stale version:
  // 400 {"errors":["check-and-set parameter did not match the current version"]}.
  { status: 400, says: /check-and-set parameter did not match/, reason: 'cas-mismatch' },
];

/** The one classification of a Vault HTTP error; see {@link VaultFailureReason}. */
export function classify(status: number, errors: string[]): VaultFailureReason {
  const worded = WORDED_FAILURES.find((w) => w.status === status && errors.some((e) => w.says.test(e)));
  if (worded) return worded.reason;
  if (status === 403) return 'denied';
  if (status === 404) return errors.length ? 'no-route' : 'absent';
  if (status === 429 || status >= 500) return 'unavailable';
  return 'rejected';
}

/** The Vault answer behind a certctl error thrown by {@link VaultClient}, or undefined when there was none (unreachable, TLS, a bug). */
export function vaultFailure(err: unknown): VaultApiError | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (e instanceof VaultApiError) return e;
  }
  return undefined;
}

/** The node-vault client surface certctl uses. */
interface NodeVaultClient {
  token?: string;
  request(options: { path: string; method: string; json?: unknown; headers?: Record<string, string> }): Promise<unknown>;
  approleLogin(options: { role_id: string; secret_id: string; mount_point?: string }): Promise<{ auth?: { client_token?: string } }>;
}

/** What a Vault answer carried besides its data. */
export interface VaultResponse<T = Record<string, unknown>> {
  data?: T;
  warnings?: string[] | null;
  auth?: { client_token?: string };
}

/**
 * Vault's HTTP API through node-vault (the product's chosen client), wrapped where it falls short:
 * node-vault treats only 200/204 as success, so 202 (accepted, e.g. tidy) is success here, and a
 * 404 with an empty `errors` list (reason `absent`) is an empty LIST or an absent read. Every
 * other failure is a {@link VaultApiError}, thrown as the certctl error {@link VaultClient.translate}
 * maps it to (the same kind for every caller). Every response's `warnings` are collected (Vault
 * only warns when it caps a TTL). Requests go through certctl's HttpTransport: bounded time,
 * retries only for GET/LIST/DELETE, TLS verified, and fault-injection tests can wrap it.
 * Every method throws what {@link VaultClient.translate} documents.
 */
@injectable()
export class VaultClient {
  /** Warnings Vault returned since the last {@link takeWarnings}, outside any operation's own scope. */
  private warnings: string[] = [];
  private readonly vault: NodeVaultClient;
  /** The AppRole login in effect, shared by every request; undefined with a plain token or before the first request. */
  private login?: Promise<void>;

  constructor(
    @inject(VaultTransport) http: HttpTransport,
    @inject(VaultOptions) private readonly options: VaultOptions,
  ) {
    const nodeVault = require('node-vault') as (o: Record<string, unknown>) => NodeVaultClient;
    this.vault = nodeVault({
      endpoint: options.address,
      namespace: options.namespace,
      token: options.auth.method === 'token' ? options.auth.token : undefined,
      // node-vault's seam for its HTTP layer: certctl's transport instead of its own axios instance,
      // which would also honour VAULT_SKIP_VERIFY from the environment behind the operator's back.
      'request-promise': { defaults: () => (o: RpOptions) => this.send(http, o) },
    });
  }

  private async send(http: HttpTransport, o: RpOptions): Promise<{ statusCode: number; body: unknown; request: { path: string } }> {
    const method = o.method as Method;
    const res = await http.send({
      method: method === 'LIST' ? 'LIST' : method,
      url: o.uri,
      headers: o.headers,
      body: o.json && typeof o.json === 'object' ? o.json : undefined,
      // A POST to Vault may sign a certificate or write a version; only reads and deletes repeat safely.
      idempotent: method === 'GET' || method === 'LIST' || method === 'DELETE',
    });
    return { statusCode: res.status, body: res.data, request: { path: new URL(o.uri).pathname } };
  }

  /** Warnings Vault returned since the last call (in this operation's scope, src/core/warning-scope.ts), then forgets them. */
  takeWarnings(): string[] {
    const scoped = scopedWarnings();
    if (scoped) return scoped.splice(0);
    const w = this.warnings;
    this.warnings = [];
    return w;
  }

  /** Reads a path; undefined when nothing is stored there (404 with no errors); a path not mounted throws (reason `no-route`). */
  async read<T = Record<string, unknown>>(path: string): Promise<VaultResponse<T> | undefined> {
    return (await this.call<T>('GET', path, undefined, { absentOn404: true })) as VaultResponse<T> | undefined;
  }

  /** Writes a path; 200, 202 and 204 are success. */
  async write<T = Record<string, unknown>>(path: string, data: unknown, method: 'POST' | 'PUT' | 'PATCH' = 'POST'): Promise<VaultResponse<T>> {
    return ((await this.call<T>(method, path, data)) as VaultResponse<T> | undefined) ?? {};
  }

  /** The keys under a path; empty when Vault answers 404 with no errors (its way of saying "nothing here"). */
  async list(path: string): Promise<string[]> {
    return (await this.listWithInfo(path)).keys;
  }

  /** A LIST with Vault's `key_info` per key (e.g. each issuer's name under `<pki>/issuers`); empty as {@link list} is. */
  async listWithInfo<I = Record<string, unknown>>(path: string): Promise<{ keys: string[]; info: Record<string, I> }> {
    const res = (await this.call<{ keys?: string[]; key_info?: Record<string, I> }>('LIST', path, undefined, { absentOn404: true })) as
      VaultResponse<{ keys?: string[]; key_info?: Record<string, I> }> | undefined;
    return { keys: res?.data?.keys ?? [], info: res?.data?.key_info ?? {} };
  }

  /** Deletes a path; one already gone counts as deleted. */
  async delete(path: string): Promise<void> {
    await this.call('DELETE', path, undefined, { absentOn404: true });
  }

  /** A GET whose body is not JSON (a PEM). */
  async readText(path: string): Promise<string | undefined> {
    const body = await this.call<unknown>('GET', path, undefined, { absentOn404: true, raw: true });
    return typeof body === 'string' ? body : undefined;
  }

  /** One request: the parsed response (with `raw`, the body as Vault sent it), or undefined for an absent path with `absentOn404`. */
  private async call<T>(
    method: Method,
    path: string,
    data?: unknown,
    opts: { absentOn404?: boolean; raw?: boolean } = {},
  ): Promise<VaultResponse<T> | string | undefined> {
    const login = this.ensureLogin();
    await login;
    for (let attempt = 0; ; attempt++) {
      try {
        // Vault takes PATCH only as a JSON merge patch (RFC 7396).
        const headers = method === 'PATCH' ? { 'Content-Type': 'application/merge-patch+json' } : undefined;
        const body = (await this.vault.request({ path: `/${path}`, method, json: data, headers })) as VaultResponse<T> | string | undefined;
        if (body && typeof body === 'object' && Array.isArray(body.warnings)) (scopedWarnings() ?? this.warnings).push(...body.warnings);
        return opts.raw ? body : (body ?? {});
      } catch (err) {
        const response = responseOf(err);
        // node-vault counts only 200 and 204 as success.
        if (response?.status === 202) return (opts.raw ? response.body : (response.body ?? {})) as VaultResponse<T> | string | undefined;
        const failure = response ? new VaultApiError(method, path, response.status, errorsOf(response.body)) : err;
        if (failure instanceof VaultApiError) {
          if (failure.reason === 'absent' && opts.absentOn404) return undefined;
          // An AppRole token that expired: log in again once and repeat.
          if (failure.reason === 'denied' && attempt === 0 && login) {
            // Requests that failed together share one new login.
            if (this.login === login) this.login = undefined;
            await this.ensureLogin();
            continue;
          }
        }
        throw this.translate(failure, method, path);
      }
    }
  }

  /** The shared AppRole login, started on first use; undefined for token auth. */
  private ensureLogin(): Promise<void> | undefined {
    if (this.options.auth.method !== 'approle') return undefined;
    if (!this.login) {
      const started = this.logIn();
      // A failed login is not kept: the next request tries again. The failure itself still
      // reaches every request awaiting `started`; this handler only forgets it.
      started.catch(() => {
        if (this.login === started) this.login = undefined;
      });
      this.login = started;
    }
    return this.login;
  }

  private async logIn(): Promise<void> {
    const auth = this.options.auth;
    if (auth.method !== 'approle') return;
    const path = `auth/${auth.mount}/login`;
    try {
      const res = await this.vault.approleLogin({ role_id: auth.roleId, secret_id: auth.secretId, mount_point: auth.mount });
      if (!res.auth?.client_token) throw new BackendAuthError(`Vault's AppRole login at ${path} returned no token`);
      this.vault.token = res.auth.client_token;
    } catch (err) {
      const response = responseOf(err);
      throw this.translate(response ? new VaultApiError('POST', path, response.status, errorsOf(response.body)) : err, 'POST', path, 'login');
    }
  }

  /**
   * The one mapping of Vault's failures to certctl's error kinds (DESIGN.md "Errors and exit
   * codes"), saying what to check; the {@link VaultApiError} stays the `cause`:
   * sealed, unavailable, unreachable → BackendUnavailableError (6); denied, a refused AppRole
   * login → BackendAuthError (7); cas-mismatch → ConflictError (8); absent, no-route →
   * NotFoundError (4); another 400 → InvalidInputError (2); TLS verification → ConfigError (3);
   * anything else → InternalError (1). Never includes the token, request bodies (CSRs, keys) or headers.
   */
  private translate(err: unknown, method: Method, path: string, call: 'request' | 'login' = 'request'): CertctlError {
    const where = `Vault at ${this.options.address}`;
    if (err instanceof CertctlError) return err;
    if (err instanceof TransportError) {
      const tls = this.options.caFile
        ? `the CA bundle ${this.options.caFile} (${this.options.caFileOrigin}) does not vouch for it`
        : 'set VAULT_CACERT (or vault.ca_file) to the CA bundle that signed its certificate';
      return transportFailure(err, where, this.options.timeoutMs, tls, 'vault.timeout');
    }
    if (!(err instanceof VaultApiError)) return new InternalError(`${where}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    const said = err.errors.length ? `: ${err.errors.join('; ')}` : '';
    const cause = { cause: err };
    // AppRole answers a wrong role id or secret id with 400, a revoked one with 403.
    if (call === 'login' && (err.reason === 'denied' || err.status === 400)) {
      return new BackendAuthError(
        `Vault refused the AppRole login at ${path} (${err.status}); check the role id and that the secret id (VAULT_SECRET_ID or vault.auth.secret_id_file) is current`,
        cause,
      );
    }
    switch (err.reason) {
      case 'sealed':
        return new BackendUnavailableError(`Vault is sealed (${where}); unseal it (\`vault operator unseal\`) and retry`, cause);
      case 'denied': {
        const capability =
          method === 'GET' ? 'read' : method === 'LIST' ? 'list' : method === 'DELETE' ? 'delete' : method === 'PATCH' ? 'patch' : 'create/update';
        const who = this.options.auth.method === 'token' ? `the token from ${this.options.auth.origin}` : `the AppRole token`;
        return new BackendAuthError(
          `${where} denied ${method} ${path} (403)${said}; ${who} is invalid, expired or revoked, or its policy lacks "${capability}" on "${path}"`,
          cause,
        );
      }
      case 'cas-mismatch':
        return new ConflictError(`${path} was changed by another writer (check-and-set failed)${said}; nothing was overwritten — run the command again`, cause);
      case 'absent':
      case 'no-route':
        return new NotFoundError(`${where} has nothing at ${path} (404)${said}; check vault.pki_mount / vault.kv_mount and the namespace`, cause);
      case 'unavailable':
        return new BackendUnavailableError(`${where} failed ${method} ${path} (${err.status})${said}; retry later or check its log`, cause);
      case 'rejected':
        if (err.status === 400) return new InvalidInputError(`${where} refused ${method} ${path} (400)${said}`, cause);
        return new InternalError(`${where} answered ${method} ${path} with ${err.status}${said}`, cause);
    }
  }
}

/** The HTTP status and body of a node-vault failure, or undefined when no answer came (a TransportError, a bug). */
function responseOf(err: unknown): { status: number; body: unknown } | undefined {
  const response = (err as { response?: { statusCode?: unknown; body?: unknown } } | undefined)?.response;
  return typeof response?.statusCode === 'number' ? { status: response.statusCode, body: response.body } : undefined;
}

/** Vault's `errors` list of an error body; empty when there is none (a 404 of a missing KV entry). */
function errorsOf(body: unknown): string[] {
  const errors = (body as { errors?: unknown } | undefined)?.errors;
  return Array.isArray(errors) ? errors.map(String).filter(Boolean) : [];
}

/** The request options node-vault hands its HTTP layer. */
interface RpOptions {
  method: string;
  uri: string;
  headers?: Record<string, string>;
  json?: unknown;
}
