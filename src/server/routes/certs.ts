import type { FastifyInstance } from 'fastify';
import { parseDuration } from '../../core/duration';
import { parseSerial } from '../../core/serial';
import { requireAdmin } from '../access';
import type { ServerContext } from '../context';
import { problemResponses } from './schemas';

interface ListQuery {
  ca?: string;
  expiring?: string;
  status?: 'valid' | 'revoked';
}

/** `GET /v1/certs[?expiring=30d]`, `GET /v1/certs/{serial}`: the inventory (`list`, `show`), for admins. */
export function certsRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get<{ Querystring: ListQuery }>(
    '/v1/certs',
    {
      schema: {
        summary: 'The inventory of a CA',
        tags: ['certificates'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            ca: { type: 'string' },
            expiring: { type: 'string', description: 'only those expiring within, e.g. 30d' },
            status: { type: 'string', enum: ['valid', 'revoked'] },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: { ca: { type: 'string' }, certificates: { type: 'array', items: { $ref: 'CertificateRecord#' } } },
            required: ['ca', 'certificates'],
          },
          ...problemResponses,
        },
      },
    },
    async (request) => {
      requireAdmin(await ctx.requirePrincipal(request), 'reading the inventory');
      const ca = request.query.ca ?? ctx.services.defaultCa;
      const expiring = request.query.expiring ? parseDuration(request.query.expiring, 'expiring') : undefined;
      const records = await ctx.services.service(ca).list({
        ...(expiring !== undefined ? { expiringBefore: new Date(Date.now() + expiring * 1000) } : {}),
        ...(request.query.status === 'revoked' ? { revokedOnly: true } : {}),
      });
      const certificates = request.query.status === 'valid' ? records.filter((r) => r.status === 'valid') : records;
      return { ca, certificates: certificates.map((r) => ({ ...r, ca })) };
    },
  );
  app.get<{ Params: { serial: string }; Querystring: { ca?: string } }>(
    '/v1/certs/:serial',
    {
      schema: {
        summary: 'One certificate of the inventory, with its PEM',
        tags: ['certificates'],
        params: { type: 'object', properties: { serial: { type: 'string' } }, required: ['serial'] },
        querystring: { type: 'object', additionalProperties: false, properties: { ca: { type: 'string' } } },
        response: {
          200: { allOf: [{ $ref: 'CertificateRecord#' }, { type: 'object', properties: { certificate: { type: 'string' } }, required: ['certificate'] }] },
          ...problemResponses,
        },
      },
    },
    async (request) => {
      requireAdmin(await ctx.requirePrincipal(request), 'reading the inventory');
      const ca = request.query.ca ?? ctx.services.defaultCa;
      const found = await ctx.services.service(ca).requireCertificate(parseSerial(request.params.serial));
      return { ...found.record, ca, certificate: found.certPem };
    },
  );
}
