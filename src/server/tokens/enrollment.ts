import type { FastifyInstance, FastifyRequest } from 'fastify';
import { keepsState } from '../../core/cert-store';
import { checkGrant, ENROLLMENT_TOKENS, findEnrollmentToken, spendEnrollmentToken, tokenLabel, tokenStore } from '../../core/enrollment-token';
import { UnauthorizedError } from '../../core/errors';
import type { Principal } from '../access';
import type { ServerContext } from '../context';

/** How often the server removes expired tokens (used ones stay until then, so a replay is told apart). */
const PRUNE_EVERY_MS = 3600_000;

/**
 * Enrollment tokens (`certctl token create`) as a way to call `certctl serve`: `Authorization:
 * Bearer <token>` on `POST /v1/sign`. Registers the authenticator, and removes expired tokens
 * hourly (as `certctl token prune` does); no routes of its own.
 */
export function enrollmentTokens(app: FastifyInstance, ctx: ServerContext): void {
  ctx.addAuthenticator(authenticateToken);
  const pruning = setInterval(() => void pruneTokens(app, ctx), PRUNE_EVERY_MS);
  pruning.unref();
  app.addHook('onClose', (_instance, done) => {
    clearInterval(pruning);
    done();
  });
}

/** Removes expired tokens from a store that keeps them; a failure is logged (the next run tries again). */
async function pruneTokens(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  try {
    const store = ctx.services.store();
    if (!keepsState(store)) return;
    const removed = await store.pruneState(ENROLLMENT_TOKENS, new Date());
    if (removed > 0) app.log.info({ removed }, 'expired enrollment tokens removed');
  } catch (err) {
    app.log.warn({ error: (err as Error).message }, 'removing expired enrollment tokens failed; trying again within the hour');
  }
}

/**
 * The caller of a request with a bearer token: a principal bound to the token's CA and profile
 * whose `onSign` checks the request against the token's grant and then spends the token (claimed
 * in the store, so only one request anywhere gets a certificate with it). A request refused by
 * policy or by the grant does not spend it.
 * @throws UnauthorizedError for a malformed, unknown, used or expired token; NotSupportedError over a store without the state capability.
 */
async function authenticateToken(request: FastifyRequest, ctx: ServerContext): Promise<Principal | undefined> {
  const header = request.headers.authorization;
  const bearer = header === undefined ? undefined : /^Bearer(?:[ \t]+(\S*))?[ \t]*$/i.exec(header);
  if (!bearer) return undefined;
  if (!bearer[1]) throw new UnauthorizedError('the Authorization header has the Bearer scheme but no token');
  // Every CA's container has the same store; a token names its CA.
  const store = tokenStore(ctx.services.store());
  const { id, grant } = await findEnrollmentToken(store, bearer[1]);
  return {
    kind: 'token',
    id: tokenLabel(id),
    roles: [],
    bound: { ca: grant.ca, profile: grant.profile },
    onSign: async (names) => {
      checkGrant(id, grant, names);
      await spendEnrollmentToken(store, id);
    },
  };
}
