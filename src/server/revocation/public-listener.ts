import { createServer, type RequestListener, type Server } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { FastifyInstance } from 'fastify';
import { NotFoundError } from '../../core/errors';
import type { ServeOptions } from '../config';

/** The paths the plain-HTTP listener serves: the public revocation routes (src/server/revocation/routes.ts). */
export const PUBLIC_PATH = /^\/(crl|ocsp)\//;

/** The plain-HTTP listener of serve.public_http_listen, and how to stop it. */
export interface PublicListener {
  url: string;
  close(): Promise<void>;
}

/**
 * serve.public_http_listen: a second, plain-HTTP listener in front of the same application,
 * because OCSP and CRL clients fetch over HTTP (RFC 5019 2.1, RFC 5280 4.2.1.13: the answers are
 * signed; nginx's `ssl_ocsp` client cannot do HTTPS). Only the public revocation routes answer on
 * it ({@link refuseOthersOnPlainHttp}); the rest stays HTTPS-only. Requests go through the same
 * Fastify handler, so they are logged, counted and limited like every other.
 * @throws what `listen` throws (EADDRINUSE, EACCES).
 */
export async function listenPublicHttp(options: ServeOptions, handler: RequestListener, where: { host: string; port: number }): Promise<PublicListener> {
  const server: Server = createServer(
    {
      headersTimeout: options.limits.headerTimeoutMs,
      requestTimeout: options.limits.requestTimeoutMs,
      connectionsCheckingInterval: Math.min(1000, options.limits.headerTimeoutMs),
      keepAliveTimeout: 5000,
    },
    handler,
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(where.port, where.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : where.port;
  return {
    url: `http://${where.host.includes(':') ? `[${where.host}]` : where.host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

/** Answers 404 on the plain-HTTP listener for every path but /crl/ and /ocsp/ (a hook, so the refusal is logged as any request is). */
export function refuseOthersOnPlainHttp(app: FastifyInstance): void {
  app.addHook('onRequest', (request, _reply, done) => {
    if ((request.raw.socket as TLSSocket).encrypted || PUBLIC_PATH.test(request.url)) return done();
    done(
      new NotFoundError(
        `the plain-HTTP listener (serve.public_http_listen) serves /crl/ and /ocsp/ only; ${request.url.split('?')[0]} is on the HTTPS listener`,
      ),
    );
  });
}
