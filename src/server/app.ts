import { randomUUID } from 'node:crypto';
import type { RequestListener } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ServerContext } from './context';
import { HttpProblem, describeFailure, sendProblem, toProblem, type FailureLog } from './problems';
import { acmeRoutes } from '../acme/routes';
import { caRoutes } from './routes/ca';
import { certsRoutes } from './routes/certs';
import { keystoneAuthentication } from './keystone/authenticator';
import { magnumRoutes } from './magnum/routes';
import { healthRoutes } from './routes/health';
import { renewRoutes } from './routes/renew';
import { revocationRoutes } from './revocation/routes';
import { revokeRoutes } from './routes/revoke';
import { certificateRecordSchema, issuedSchema, problemSchema } from './routes/schemas';
import { signRoutes } from './routes/sign';
import { enrollmentTokens } from './tokens/enrollment';

/** A group of routes: one concern each (Fastify's "one plugin per concern"). */
export type RouteGroup = (app: FastifyInstance, ctx: ServerContext) => void;

/** The routes every server has; OCSP, CRL, tokens, Magnum and ACME add theirs through `extraRoutes`. */
export const CORE_ROUTES: readonly RouteGroup[] = [
  caRoutes,
  signRoutes,
  renewRoutes,
  revokeRoutes,
  certsRoutes,
  healthRoutes,
  keystoneAuthentication,
  enrollmentTokens,
  magnumRoutes,
  acmeRoutes,
  revocationRoutes,
];

/**
 * Builds the Fastify application over an HTTPS server made by `createServer` (TLS options, header
 * and request timeouts live there): JSON logging of one line per request with its id, RFC 9457
 * errors from one handler, a body limit, a per-client rate limit, /openapi.json from the route schemas.
 */
export async function buildApp(
  ctx: ServerContext,
  createServer: (handler: RequestListener) => HttpsServer,
  routes: readonly RouteGroup[] = CORE_ROUTES,
): Promise<FastifyInstance> {
  const { default: fastify, LogController } = require('fastify') as typeof import('fastify');
  const app = fastify({
    serverFactory: (handler) => createServer(handler),
    logger: { level: process.env.CERTCTL_LOG_LEVEL ?? 'info', stream: process.stderr },
    // Fastify's own two lines per request are replaced by the one written in onResponse.
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    bodyLimit: ctx.options.limits.bodyBytes,
    return503OnClosing: true,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
  }) as FastifyInstance;

  const failures = handleErrors(app, ctx);
  await registerPlugins(app, ctx);
  logRequests(app, ctx, failures);
  for (const group of routes) group(app, ctx);
  app.get('/openapi.json', { schema: { hide: true } }, () => app.swagger());
  return app;
}

/** One error handler for every route (and unknown paths): problem documents, the errors metric, and what the log line keeps. */
function handleErrors(app: FastifyInstance, ctx: ServerContext): WeakMap<FastifyRequest, FailureLog> {
  app.addSchema(problemSchema);
  app.addSchema(certificateRecordSchema);
  app.addSchema(issuedSchema);
  const failures = new WeakMap<FastifyRequest, FailureLog>();
  const fail = (err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const problem = toProblem(err, request.id);
    ctx.metrics.errors.inc({ code: problem.code });
    failures.set(request, describeFailure(err, problem.code));
    return sendProblem(problem, reply);
  };
  app.setErrorHandler(fail);
  app.setNotFoundHandler((request, reply) =>
    fail(new HttpProblem(404, 'not_found', `no route ${request.method} ${request.url.split('?')[0]}; /openapi.json lists them`), request, reply),
  );

  return failures;
}

/** The plugins: a per-client rate limit (429) and the OpenAPI document built from the route schemas. */
async function registerPlugins(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  await app.register(require('@fastify/rate-limit') as typeof import('@fastify/rate-limit'), {
    max: ctx.options.limits.requestsPerMinute,
    timeWindow: 60_000,
    keyGenerator: (request) => request.ip,
    errorResponseBuilder: (_request, context) =>
      new HttpProblem(
        429,
        'backend_unavailable',
        `too many requests from this client (${context.max} a minute, serve.limits.requests_per_minute); retry after ${context.after}`,
      ),
  });
  await app.register(require('@fastify/swagger') as typeof import('@fastify/swagger'), {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'certctl serve', version: (require('../../package.json') as { version: string }).version, description: 'certctl as a network service' },
    },
  });
}

/** The request id on every answer, and one JSON log line per request (with the failure, if any) plus its latency metric. */
function logRequests(app: FastifyInstance, ctx: ServerContext, failures: WeakMap<FastifyRequest, FailureLog>): void {
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-request-id', request.id);
    // Draining: the last answer on a keep-alive connection says so, and the process need not wait for the client to hang up.
    if (closing) reply.header('connection', 'close');
    done(null, payload);
  });
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unknown';
    const seconds = reply.elapsedTime / 1000;
    ctx.metrics.requests.observe({ method: request.method, route, status: String(reply.statusCode) }, seconds);
    const failure = failures.get(request);
    const line = {
      method: request.method,
      url: request.url.split('?')[0],
      route,
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 10) / 10,
      client: request.ip,
      ...(failure ? { failure } : {}),
    };
    request.log[reply.statusCode >= 500 ? 'error' : 'info'](line, 'request');
    done();
  });
}
