import type { FastifyInstance } from 'fastify';
import { parseDuration } from '../../core/duration';
import { authorizeSigning } from '../access';
import type { ServerContext } from '../context';
import { issuedBody } from './issued';
import { problemResponses } from './schemas';

interface SignBody {
  csr: string;
  profile?: string;
  ttl?: string;
  ca?: string;
}

const signBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    csr: { type: 'string', minLength: 1, description: 'PKCS#10 request, PEM' },
    profile: { type: 'string', description: 'a built-in or custom profile (default: an enrollment token’s profile, else client)' },
    ttl: { type: 'string', description: 'validity, e.g. 24h or 90d (default: the profile’s)' },
    ca: { type: 'string', description: 'the CA to sign with (default: an enrollment token’s CA, else the server’s CA)' },
  },
  required: ['csr'],
} as const;

/**
 * `POST /v1/sign`: the `sign` workflow — the same profile policy, then the caller's roles (or its
 * enrollment token) must allow the profile and every name.
 */
export function signRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.post<{ Body: SignBody }>(
    '/v1/sign',
    { schema: { summary: 'Sign a CSR', tags: ['certificates'], body: signBody, response: { 201: { $ref: 'Issued#' }, ...problemResponses } } },
    async (request, reply) => {
      const principal = await ctx.requirePrincipal(request);
      const body = request.body;
      const ttl = body.ttl ? parseDuration(body.ttl, 'ttl') : undefined;
      // An enrollment token's caller gets the token's CA and profile when it names none.
      const ca = body.ca ?? principal.bound?.ca ?? ctx.services.defaultCa;
      const result = await ctx.services.service(ca).signCsr(body.csr, body.profile ?? principal.bound?.profile ?? 'client', ttl, 'csr', {
        authorize: (names) => authorizeSigning(principal, names, ctx.options),
        auditDetail: { via: 'serve', principal: principal.id },
      });
      return reply.code(201).send(issuedBody(ctx, result));
    },
  );
}
