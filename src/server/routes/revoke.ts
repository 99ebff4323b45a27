import type { FastifyInstance } from 'fastify';
import { parseSerial } from '../../core/serial';
import { REVOCATION_REASONS, type RevocationReason } from '../../core/types';
import { isAdmin, requireAdmin } from '../access';
import type { ServerContext } from '../context';
import { problemResponses } from './schemas';

interface RevokeBody {
  serial: string;
  reason?: RevocationReason;
  ca?: string;
}

const revokeBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    serial: { type: 'string', minLength: 1, description: 'as `openssl x509 -serial` prints it (colons optional)' },
    reason: { type: 'string', enum: [...REVOCATION_REASONS] },
    ca: { type: 'string' },
  },
  required: ['serial'],
} as const;

/**
 * `POST /v1/revoke`: by an admin, or by the holder of that very certificate over mTLS (a node
 * retiring itself, or reporting its own key compromised). The CRL and OCSP answers change at once.
 */
export function revokeRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.post<{ Body: RevokeBody }>(
    '/v1/revoke',
    {
      schema: {
        summary: 'Revoke a certificate',
        tags: ['certificates'],
        body: revokeBody,
        response: { 200: { $ref: 'CertificateRecord#' }, ...problemResponses },
      },
    },
    async (request) => {
      const principal = await ctx.requirePrincipal(request);
      const serial = parseSerial(request.body.serial);
      const ca = request.body.ca ?? principal.certificate?.ca ?? ctx.services.defaultCa;
      const holder = principal.certificate?.ca === ca && principal.certificate.serial === serial;
      if (!holder && !isAdmin(principal)) requireAdmin(principal, `revoking ${serial} (a certificate other than the caller's own)`);
      const [record] = await ctx.services.service(ca).revoke([serial], request.body.reason ?? 'unspecified');
      ctx.metrics.revoked.inc({ ca });
      ctx.revoked(ca, [serial]);
      return { ...record, ca };
    },
  );
}
