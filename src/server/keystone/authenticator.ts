import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AxiosTransport, RetryingTransport, type HttpTransport } from '../../backends/http/transport';
import { UnauthorizedError } from '../../core/errors';
import type { Principal } from '../access';
import type { KeystoneOptions, Role } from '../config';
import type { ServerContext } from '../context';
import { KeystoneClient, type TokenInfo } from './client';

/** Tokens are URL-safe base64 (Fernet, JWS) and a few hundred characters: anything else is refused without asking Keystone. */
const TOKEN_SYNTAX = /^[A-Za-z0-9_\-=.+/]{1,8192}$/;

/** At most this many validated tokens are remembered; the oldest goes first. */
const CACHE_LIMIT = 10_000;

interface Cached {
  info: TokenInfo;
  /** Milliseconds since the epoch: min(the token's expiry, validation + cache_ttl). */
  until: number;
}

/**
 * The `X-Auth-Token` authenticator (Keystone tokens, as Magnum's own API takes them): the token is
 * validated against Keystone with certctl's service credentials, remembered for at most
 * serve.keystone.cache_ttl (60 s, never past its expiry), and its roles in its project mapped to
 * certctl roles by serve.keystone.roles. Tokens are kept by their SHA-256 only and never logged.
 */
export class KeystoneAuthenticator {
  private state?: { options: KeystoneOptions; client: KeystoneClient; cache: Map<string, Cached>; pending: Map<string, Promise<TokenInfo | undefined>> };

  constructor(
    private readonly now: () => number = Date.now,
    /** Builds the HTTP transport to Keystone (tests wrap it to count calls). */
    private readonly transport: (options: KeystoneOptions) => HttpTransport = defaultTransport,
  ) {}

  /**
   * The caller of a request that carries X-Auth-Token, or undefined when it carries none.
   * @throws UnauthorizedError for a token Keystone does not accept, or any token when serve.keystone is not configured; what {@link KeystoneClient.validate} throws.
   */
  async authenticate(request: FastifyRequest, options: KeystoneOptions | undefined): Promise<Principal | undefined> {
    const header = request.headers['x-auth-token'];
    if (header === undefined) return undefined;
    if (!options) throw new UnauthorizedError('X-Auth-Token was sent, but this server takes no Keystone tokens (serve.keystone is not configured)');
    const token = Array.isArray(header) ? header.join(',') : header;
    if (!TOKEN_SYNTAX.test(token)) throw new UnauthorizedError('X-Auth-Token is not a Keystone token (unexpected characters or length)');
    const info = await this.validate(token, options);
    if (!info) throw new UnauthorizedError('Keystone does not accept the X-Auth-Token (unknown, expired or revoked); get a new token');
    return { kind: 'keystone', id: info.userId, roles: mappedRoles(info, options), ...(info.projectId ? { project: info.projectId } : {}) };
  }

  /** A token's facts from the cache, else from Keystone (one call for concurrent requests with the same token). */
  private async validate(token: string, options: KeystoneOptions): Promise<TokenInfo | undefined> {
    const state = this.stateFor(options);
    const key = createHash('sha256').update(token).digest('base64url');
    const now = this.now();
    const cached = state.cache.get(key);
    if (cached && cached.until > now) return cached.info;
    if (cached) state.cache.delete(key);
    let pending = state.pending.get(key);
    if (!pending) {
      pending = state.client.validate(token).finally(() => state.pending.delete(key));
      state.pending.set(key, pending);
    }
    const info = await pending;
    if (info && options.cacheTtlSeconds > 0) {
      if (state.cache.size >= CACHE_LIMIT) state.cache.delete(state.cache.keys().next().value as string);
      state.cache.set(key, { info, until: Math.min(info.expiresAt, now + options.cacheTtlSeconds * 1000) });
    }
    return info;
  }

  /** A new client and an empty cache whenever serve.keystone changes (SIGHUP). */
  private stateFor(options: KeystoneOptions) {
    if (this.state?.options !== options) {
      this.state = { options, client: new KeystoneClient(options, this.transport(options), this.now), cache: new Map(), pending: new Map() };
    }
    return this.state;
  }
}

/** The certctl roles serve.keystone.roles gives the token's Keystone roles (each once). */
function mappedRoles(info: TokenInfo, options: KeystoneOptions): Role[] {
  const roles: Role[] = [];
  for (const name of info.roles) {
    const role = options.roles.get(name);
    if (role && !roles.includes(role)) roles.push(role);
  }
  return roles;
}

function defaultTransport(options: KeystoneOptions): HttpTransport {
  const axios = new AxiosTransport({ timeoutMs: options.timeoutMs, caFile: options.caFile, caFileOrigin: 'serve.keystone.ca_file' });
  // Validation is a GET (retried after a 502/503/504 or a lost answer); the login POST only when unsent.
  return new RetryingTransport(axios, { retries: 2, baseDelayMs: 200 });
}

/** Registers the Keystone authenticator (a route group without routes: it only adds a way to authenticate). */
export function keystoneAuthentication(_app: FastifyInstance, ctx: ServerContext): void {
  const authenticator = new KeystoneAuthenticator();
  ctx.addAuthenticator((request, context) => authenticator.authenticate(request, context.options.keystone));
}
