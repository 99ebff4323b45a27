import { createServer, type Server } from 'node:https';
import type { RequestListener } from 'node:http';
import type { SecureContextOptions } from 'node:tls';
import type { FastifyInstance } from 'fastify';
import type { BackendRegistry } from '../core/backend-registry';
import { CertStore } from '../core/cert-store';
import type { ResolvedConfig } from '../core/config/load';
import { ConfigError } from '../core/errors';
import type { PassphraseSource } from '../core/secrets';
import { Signer } from '../core/signer';
import { buildApp, CORE_ROUTES } from './app';
import { CaServices } from './ca-services';
import { parseServeOptions, type ServeOptions } from './config';
import { ServerContext } from './context';
import { groupCommitting } from './group-commit';
import { ServerMetrics } from './metrics';
import { listenPublicHttp, type PublicListener } from './revocation/public-listener';
import { TlsRotation } from './tls-rotation';

/** What `certctl serve` starts from; `reloadConfig` is called on SIGHUP. */
export interface ServeInput {
  config: ResolvedConfig;
  passphrase: PassphraseSource;
  registry: BackendRegistry;
  listen?: string;
  reloadConfig: () => ResolvedConfig;
}

/** A running server: its address, and how to stop it (what SIGTERM does). */
export interface RunningServer {
  app: FastifyInstance;
  url: string;
  port: number;
  /** The plain-HTTP listener of /crl and /ocsp (serve.public_http_listen), when configured. */
  publicUrl?: string;
  close(): Promise<void>;
}

/**
 * Starts `certctl serve`: checks the CA, gets the TLS certificate, listens, and keeps the
 * certificate fresh (src/server/tls-rotation.ts). SIGHUP re-reads certctl.yaml and the TLS
 * certificate; `close()` (SIGTERM) drains the requests in flight.
 * @throws what the core throws when the default CA is missing or the backend refuses; ConfigError for a bad serve section.
 */
export async function startServer(input: ServeInput): Promise<RunningServer> {
  const metrics = new ServerMetrics();
  const services = new CaServices(input.config, input.passphrase, input.registry, (container) => {
    container.onActivation<CertStore>(CertStore, (_ctx, store) => metrics.timed(groupCommitting(store), 'store'));
    container.onActivation<Signer>(Signer, (_ctx, signer) => metrics.timed(signer, 'signer'));
  });
  const ctx = new ServerContext(parseServeOptions(input.config, input.listen), services, metrics);
  await services.service().requireCa();
  // The log exists once the app does; the rotation logs only after start-up.
  const tls = await TlsRotation.start(ctx.options, services, () => app.log);
  const initial = await tls.secureContext();
  let server: Server | undefined;
  let handler: RequestListener | undefined;
  const app = await buildApp(ctx, (h) => (server = httpsServer(initial, ctx.options, (handler = h))), CORE_ROUTES);
  const { host, port: wanted } = ctx.options;
  await app.listen({ host, port: wanted, listenTextResolver: (address) => `listening on ${address.replace(/^http:/, 'https:')}` });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : wanted;
  const url = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  let plain: PublicListener | undefined;
  if (ctx.options.publicHttp && handler) {
    try {
      plain = await listenPublicHttp(ctx.options, handler, ctx.options.publicHttp);
    } catch (err) {
      await app.close();
      throw new ConfigError(`serve.public_http_listen: cannot listen (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err });
    }
  }
  const current = tls.certificate;
  app.log.info(
    {
      url,
      ...(plain ? { publicUrl: plain.url } : {}),
      tls: current.source,
      serial: current.serial,
      store: services.store().kind,
      signer: services.signerKind(),
    },
    'certctl serve ready',
  );
  if (server) tls.attach(server, () => ctx.options);

  const onHup = () => void reload(input, ctx, tls, app);
  process.on('SIGHUP', onHup);
  return {
    app,
    url,
    port,
    publicUrl: plain?.url,
    close: async () => {
      process.off('SIGHUP', onHup);
      tls.stop();
      await Promise.all([app.close(), plain?.close()]);
    },
  };
}

/** SIGHUP: certctl.yaml read again (a refused one leaves the server as it was) and the TLS certificate replaced. */
async function reload(input: ServeInput, ctx: ServerContext, tls: TlsRotation, app: FastifyInstance): Promise<void> {
  try {
    const config = input.reloadConfig();
    const next = parseServeOptions(config, input.listen);
    if (next.host !== ctx.options.host || next.port !== ctx.options.port) app.log.warn('serve.listen changed: a restart is needed to listen elsewhere');
    ctx.reload(next, config);
    await tls.replace(() => ctx.options);
    app.log.info('configuration reloaded (SIGHUP)');
  } catch (err) {
    app.log.error({ error: (err as Error).message }, 'SIGHUP: the new configuration was refused; still running with the old one');
  }
}

/** The HTTPS server: TLS 1.2+, a client certificate asked for but checked per request (src/server/identity.ts), timeouts. */
function httpsServer(context: SecureContextOptions, options: ServeOptions, handler: RequestListener): Server {
  return createServer(
    {
      ...context,
      requestCert: true,
      rejectUnauthorized: false,
      headersTimeout: options.limits.headerTimeoutMs,
      requestTimeout: options.limits.requestTimeoutMs,
      // How often Node looks for connections past those timeouts (a slow client that never finishes its headers).
      connectionsCheckingInterval: Math.min(1000, options.limits.headerTimeoutMs),
      keepAliveTimeout: 5000,
    },
    handler,
  );
}
