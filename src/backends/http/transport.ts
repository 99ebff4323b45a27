import { readFileSync } from 'node:fs';
import type { AxiosInstance } from 'axios';
import { ConfigError } from '../../core/errors';

/** One HTTP request as the backends' REST clients build it. */
export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'LIST';
  url: string;
  headers?: Record<string, string>;
  /** JSON-encoded when an object; sent as is when a string. */
  body?: unknown;
  /** True when sending the request twice has the effect of sending it once (GET, DELETE, PUT of a whole object). */
  idempotent?: boolean;
}

/** What came back: the status, lower-cased headers and the body (parsed when it was JSON). */
export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  data: unknown;
}

/** Why TLS verification refused a server: its name, its validity period, or no trusted issuer. */
export type TlsProblem = 'name' | 'validity' | 'trust';

/**
 * The request never completed at the HTTP level (refused, reset, timed out, TLS failure).
 * `sent` is false when the server cannot have seen it (connection refused, DNS, TLS refused
 * before any request went out), so even a non-idempotent request may be retried, and a
 * rollback need not look for what it might have created.
 */
export class TransportError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly sent: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /**
   * The TLS verification failure this is, classified from Node's error code (the one place
   * that reads those codes), or undefined when it is not one.
   */
  get tlsProblem(): TlsProblem | undefined {
    if (/ALTNAME|HOSTNAME/.test(this.code)) return 'name';
    if (/EXPIRED|NOT_YET_VALID/.test(this.code)) return 'validity';
    if (/CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ERR_TLS/.test(this.code)) return 'trust';
    return undefined;
  }

  /** A certificate verification failure: retrying cannot help, the configuration must change. */
  get isTls(): boolean {
    return this.tlsProblem !== undefined;
  }
}

/**
 * The small interface every REST client of certctl talks through (DESIGN.md "the HTTP client
 * sits behind a small interface"), so fault-injection tests can wrap it.
 */
export interface HttpTransport {
  /**
   * Sends a request; any HTTP status is a response, not an error.
   * @throws TransportError when no HTTP response arrived.
   */
  send(request: HttpRequest): Promise<HttpResponse>;
}

/** Options of {@link AxiosTransport}. */
export interface AxiosTransportOptions {
  /** Per-request timeout, milliseconds. */
  timeoutMs: number;
  /** PEM bundle of the CAs to trust instead of the system roots (verification stays on). */
  caFile?: string;
  /** Where `caFile` came from, for error messages (`barbican.ca_file`, `OS_CACERT`). */
  caFileOrigin?: string;
  /** PEM text of the CAs to trust (a client of `certctl serve` that holds its CA in memory); `caFile` wins. */
  caPem?: string;
  /** A TLS client certificate and key, PEM (mTLS to `certctl serve`). */
  clientCertificate?: { certPem: string; keyPem: string };
  /**
   * No TLS verification: only for `certctl enroll`'s first request, whose answer (the CA
   * certificate) is checked against a fingerprint the operator gave (src/client/server-client.ts).
   */
  insecure?: boolean;
}

/**
 * HttpTransport over axios with keep-alive agents. TLS verification is on (the one exception is
 * `insecure`, for a fingerprint-pinned first contact); a custom CA bundle is the set of trusted roots.
 * @throws ConfigError when the CA bundle cannot be read.
 */
export class AxiosTransport implements HttpTransport {
  private readonly axios: AxiosInstance;

  constructor(options: AxiosTransportOptions) {
    // Required here, not at the top: only the Barbican/Vault backends pay for loading axios.
    const axios = require('axios') as typeof import('axios').default;
    const http = require('node:http') as typeof import('node:http');
    const https = require('node:https') as typeof import('node:https');
    let ca: string | undefined = options.caPem;
    if (options.caFile) {
      try {
        // The bundle replaces the system roots, as VAULT_CACERT and OS_CACERT do for the vault and
        // openstack CLIs. (Appending ~140 system roots also made every request slow: the agent
        // keys its socket pool on the CA text.)
        ca = readFileSync(options.caFile, 'utf8');
      } catch (err) {
        throw new ConfigError(
          `${options.caFileOrigin ?? 'ca_file'}: cannot read CA bundle ${options.caFile} (${(err as NodeJS.ErrnoException).code ?? 'error'}); point it at a readable PEM file`,
          { cause: err },
        );
      }
    }
    this.axios = axios.create({
      timeout: options.timeoutMs,
      httpAgent: new http.Agent({ keepAlive: true }),
      httpsAgent: new https.Agent({
        keepAlive: true,
        ca,
        rejectUnauthorized: options.insecure !== true,
        ...(options.clientCertificate ? { cert: options.clientCertificate.certPem, key: options.clientCertificate.keyPem } : {}),
      }),
      validateStatus: () => true,
      maxRedirects: 0,
      // Bodies are parsed below: axios would silently keep a non-JSON error page as a string anyway.
      responseType: 'text',
      transformResponse: [(data: unknown) => data],
      proxy: false,
    });
  }

  async send(request: HttpRequest): Promise<HttpResponse> {
    const headers: Record<string, string> = { ...request.headers };
    let data: string | undefined;
    if (request.body !== undefined) {
      data = typeof request.body === 'string' ? request.body : JSON.stringify(request.body);
      headers['Content-Type'] ??= 'application/json';
    }
    try {
      const res = await this.axios.request({ method: request.method, url: request.url, headers, data });
      const out: Record<string, string> = {};
      for (const [k, v] of Object.entries(res.headers)) if (v !== undefined && v !== null) out[k.toLowerCase()] = String(v);
      return { status: res.status, headers: out, data: parseBody(res.data as string, out['content-type']) };
    } catch (err) {
      const e = err as { code?: string; message?: string; cause?: { code?: string } };
      const code = e.code === 'ECONNABORTED' || e.code === 'ETIMEDOUT' ? 'ETIMEDOUT' : (e.cause?.code ?? e.code ?? 'ERR_NETWORK');
      const unseen = ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'].includes(code);
      const failure = new TransportError(e.message ?? String(err), code, !unseen, { cause: err });
      // A certificate refused during the handshake: no request went out.
      throw failure.isTls ? new TransportError(failure.message, code, false, { cause: err }) : failure;
    }
  }
}

function parseBody(text: string, contentType: string | undefined): unknown {
  if (typeof text !== 'string' || text.length === 0) return text;
  if (contentType?.includes('json') || /^\s*[{[]/.test(text)) {
    try {
      return JSON.parse(text);
    } catch {
      // Not an error to report: a body that only looks like JSON (an HTML error page, a proxy's
      // text) is kept as text, and the caller's parser or error translation says what it is.
      return text;
    }
  }
  return text;
}

/** Bounds of {@link RetryingTransport}. */
export interface RetryOptions {
  /** Extra attempts after the first. */
  retries: number;
  /** First backoff, doubled per attempt, with jitter. */
  baseDelayMs: number;
}

const RETRYABLE_STATUS = new Set([502, 503, 504]);

/**
 * Retries only where a retry is safe: an idempotent request after a transport failure or a
 * 502/503/504, and any request the server cannot have seen (connection refused). A POST that
 * may have reached the server is never repeated: it could create a second object.
 */
export class RetryingTransport implements HttpTransport {
  constructor(
    private readonly inner: HttpTransport,
    private readonly options: RetryOptions,
  ) {}

  async send(request: HttpRequest): Promise<HttpResponse> {
    for (let attempt = 0; ; attempt++) {
      const last = attempt >= this.options.retries;
      try {
        const res = await this.inner.send(request);
        if (!last && request.idempotent && RETRYABLE_STATUS.has(res.status)) {
          await this.pause(attempt);
          continue;
        }
        return res;
      } catch (err) {
        const retryable = err instanceof TransportError && !err.isTls && (!err.sent || request.idempotent);
        if (last || !retryable) throw err;
        await this.pause(attempt);
      }
    }
  }

  private pause(attempt: number): Promise<void> {
    const ms = this.options.baseDelayMs * 2 ** attempt * (0.5 + Math.random() / 2);
    return new Promise((resolve) => setTimeout(resolve, ms));
  }
}
