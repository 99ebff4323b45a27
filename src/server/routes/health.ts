import type { FastifyInstance } from 'fastify';
import { BackendUnavailableError } from '../../core/errors';
import type { ServerContext } from '../context';

/** `GET /health`: the process answers and its backend holds the default CA (503 otherwise); `GET /metrics`: Prometheus text. */
export function healthRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get(
    '/health',
    {
      schema: {
        summary: 'Liveness and backend readiness',
        tags: ['operations'],
        response: {
          200: {
            type: 'object',
            properties: { status: { type: 'string' }, ca: { type: 'string' }, store: { type: 'string' }, signer: { type: 'string' } },
            required: ['status'],
          },
          503: { $ref: 'Problem#' },
        },
      },
    },
    async () => {
      const service = ctx.services.service();
      const store = ctx.services.store();
      try {
        await service.requireCa();
      } catch (err) {
        throw new BackendUnavailableError(`the backend does not answer for CA "${ctx.services.defaultCa}": ${(err as Error).message}`, { cause: err });
      }
      return { status: 'ok', ca: ctx.services.defaultCa, store: store.kind, signer: ctx.services.signerKind() };
    },
  );
  app.get('/metrics', { schema: { summary: 'Prometheus metrics', tags: ['operations'], produces: ['text/plain'] } }, async (_request, reply) => {
    const text = await ctx.metrics.registry.metrics();
    return reply.type(ctx.metrics.registry.contentType).send(text);
  });
}
