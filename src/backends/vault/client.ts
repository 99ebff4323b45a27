import {
  BackendAuthError,
  BackendUnavailableError,
  CertctlError,
  ConflictError,
  InternalError,
  InvalidInputError,
  NotFoundError,
} from '../../core/errors';
import { transportFailure } from '../http/errors';
import { TransportError, type HttpTransport } from '../http/transport';
import type { VaultOptions } from './options';

type Method = 'GET' | 'LIST' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

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
 * node-vault treats only 200/204 as success, so 202 (accepted, e.g. tidy) is success here, 404 on
 * a LIST is an empty list, and a 404 read is "absent". Every response's `warnings` are collected
 * (Vault only warns when it caps a TTL). Requests go through certctl's HttpTransport: bounded
 * time, retries only for GET/LIST/DELETE, TLS verified, and fault-injection tests can wrap it.
 */
export class VaultClient {
  /** Warnings Vault returned since the last {@link takeWarnings}. */
  private warnings: string[] = [];
  private readonly vault: NodeVaultClient;
  /** The AppRole login in effect, shared by every request; undefined with a plain token or before the first request. */
  private login?: Promise<void>;

  constructor(
    http: HttpTransport,
    private readonly options: VaultOptions,
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

  /** Warnings Vault returned since the last call, then forgets them. */
  takeWarnings(): string[] {
    const w = this.warnings;
    this.warnings = [];
    return w;
  }

  /** Reads a path; undefined when Vault answers 404. */
  async read<T = Record<string, unknown>>(path: string): Promise<VaultResponse<T> | undefined> {
    return this.call<T>('GET', path, undefined, { absentOn404: true });
  }

  /** Writes a path; 200, 202 and 204 are success. */
  async write<T = Record<string, unknown>>(path: string, data: unknown, method: 'POST' | 'PUT' | 'PATCH' = 'POST'): Promise<VaultResponse<T>> {
    return (await this.call<T>(method, path, data)) ?? {};
  }

  /** The keys under a path; empty when Vault answers 404 (its way of saying "nothing here"). */
  async list(path: string): Promise<string[]> {
    const res = await this.call<{ keys?: string[] }>('LIST', path, undefined, { absentOn404: true });
    return res?.data?.keys ?? [];
  }

  /** Deletes a path; one already gone counts as deleted. */
  async delete(path: string): Promise<void> {
    await this.call('DELETE', path, undefined, { absentOn404: true });
  }

  /** A GET whose body is not JSON (a PEM). */
  async readText(path: string): Promise<string | undefined> {
    const body = await this.call<unknown>('GET', path, undefined, { absentOn404: true, raw: true });
    return body === undefined ? undefined : String(body);
  }

  private async call<T>(method: Method, path: string, data?: unknown, opts: { absentOn404?: boolean; raw?: boolean } = {}): Promise<any> {
    const login = this.ensureLogin();
    await login;
    for (let attempt = 0; ; attempt++) {
      try {
        // Vault takes PATCH only as a JSON merge patch (RFC 7396).
        const headers = method === 'PATCH' ? { 'Content-Type': 'application/merge-patch+json' } : undefined;
        const body = (await this.vault.request({ path: `/${path}`, method, json: data, headers })) as VaultResponse<T> | string | undefined;
        if (body && typeof body === 'object' && Array.isArray(body.warnings)) this.warnings.push(...body.warnings);
        return opts.raw ? body : (body ?? {});
      } catch (err) {
        const status = (err as { response?: { statusCode?: number } }).response?.statusCode;
        const body = (err as { response?: { body?: unknown } }).response?.body as VaultResponse<T> | undefined;
        if (status === 202) return opts.raw ? body : (body ?? {});
        if (status === 404 && opts.absentOn404) {
          // 404 with errors [] is "no such path"; a 404 that says more (a missing mount) is an error.
          const errors = (body as { errors?: string[] } | undefined)?.errors ?? [];
          if (errors.length === 0) return undefined;
        }
        // An AppRole token that expired: log in again once and repeat.
        if (status === 403 && attempt === 0 && login) {
          // Requests that failed together share one new login.
          if (this.login === login) this.login = undefined;
          await this.ensureLogin();
          continue;
        }
        throw this.translate(err, method, path);
      }
    }
  }

  /** The shared AppRole login, started on first use; undefined for token auth. */
  private ensureLogin(): Promise<void> | undefined {
    if (this.options.auth.method !== 'approle') return undefined;
    if (!this.login) {
      const started = this.logIn();
      // A failed login is not kept: the next request tries again.
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
    try {
      const res = await this.vault.approleLogin({ role_id: auth.roleId, secret_id: auth.secretId, mount_point: auth.mount });
      if (!res.auth?.client_token) throw new BackendAuthError(`Vault's AppRole login at auth/${auth.mount}/login returned no token`);
      this.vault.token = res.auth.client_token;
    } catch (err) {
      const status = (err as { response?: { statusCode?: number } }).response?.statusCode;
      if (status === 400 || status === 403) {
        throw new BackendAuthError(`Vault refused the AppRole login at auth/${auth.mount}/login (${status}); check the role id and that the secret id (VAULT_SECRET_ID or vault.auth.secret_id_file) is current`, { cause: err });
      }
      throw this.translate(err, 'POST', `auth/${auth.mount}/login`);
    }
  }

  /**
   * Vault's answer as a certctl error, saying what to check. Never includes the token, request
   * bodies (CSRs, keys) or headers.
   */
  private translate(err: unknown, method: Method, path: string): CertctlError {
    const where = `Vault at ${this.options.address}`;
    if (err instanceof CertctlError) return err;
    if (err instanceof TransportError) {
      const tls = this.options.caFile
        ? `the CA bundle ${this.options.caFile} (${this.options.caFileOrigin}) does not vouch for it`
        : 'set VAULT_CACERT (or vault.ca_file) to the CA bundle that signed its certificate';
      return transportFailure(err, where, this.options.timeoutMs, tls, 'vault.timeout');
    }
    const response = (err as { response?: { statusCode?: number; body?: { errors?: unknown[] } } }).response;
    if (!response) return new InternalError(`${where}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
    const status = response.statusCode ?? 0;
    const errors = (response.body?.errors ?? []).map(String).filter(Boolean);
    const said = errors.length ? `: ${errors.join('; ')}` : '';
    if (status === 503 && errors.some((e) => /sealed/i.test(e))) {
      return new BackendUnavailableError(`Vault is sealed (${where}); unseal it (\`vault operator unseal\`) and retry`, { cause: err });
    }
    if (status === 403) {
      const capability = method === 'GET' ? 'read' : method === 'LIST' ? 'list' : method === 'DELETE' ? 'delete' : 'create/update';
      const who = this.options.auth.method === 'token' ? `the token from ${this.options.auth.origin}` : `the AppRole token`;
      return new BackendAuthError(
        `${where} denied ${method} ${path} (403)${said}; ${who} is invalid, expired or revoked, or its policy lacks "${capability}" on "${path}"`,
        { cause: err },
      );
    }
    if (status === 400 && errors.some((e) => /check-and-set|cas/i.test(e))) {
      return new ConflictError(`${path} was changed by another writer (check-and-set failed)${said}; nothing was overwritten — run the command again`, { cause: err });
    }
    if (status === 404) return new NotFoundError(`${where} has nothing at ${path} (404)${said}; check vault.pki_mount / vault.kv_mount and the namespace`, { cause: err });
    if (status === 400) return new InvalidInputError(`${where} refused ${method} ${path} (400)${said}`, { cause: err });
    if (status === 429 || status >= 500) return new BackendUnavailableError(`${where} failed ${method} ${path} (${status})${said}; retry later or check its log`, { cause: err });
    return new InternalError(`${where} answered ${method} ${path} with ${status}${said}`, { cause: err });
  }
}

/** The request options node-vault hands its HTTP layer. */
interface RpOptions {
  method: string;
  uri: string;
  headers?: Record<string, string>;
  json?: unknown;
}
