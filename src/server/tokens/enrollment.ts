import type { FastifyInstance, FastifyRequest } from 'fastify';
import { checkGrant, findEnrollmentToken, spendEnrollmentToken, tokenLabel, tokenStore } from '../../core/enrollment-token';
import { UnauthorizedError } from '../../core/errors';
import type { Principal } from '../access';
import type { ServerContext } from '../context';

/**
 * Enrollment tokens (`certctl token create`) as a way to call `certctl serve`: `Authorization:
 * Bearer <token>` on `POST /v1/sign`. Registers the authenticator; no routes of its own.
 */
export function enrollmentTokens(_app: FastifyInstance, ctx: ServerContext): void {
  ctx.addAuthenticator(authenticateToken);
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
  const bearer = header === undefined ? undefined : /^Bearer[ \t]+(\S*)[ \t]*$/i.exec(header);
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
