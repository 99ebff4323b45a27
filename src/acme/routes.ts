import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parseAcmeOptions, type AcmeOptions } from './config';
import type { ServerContext } from '../server/context';
import { changeKey, newAccount, updateAccount } from './accounts';
import { ownAuthz, respondToChallenge } from './challenges';
import { AcmeContext, AcmeUrls, type AcmeRequest } from './context';
import { finalizeOrder, ownOrder } from './finalize';
import { createOrder } from './orders';
import { AcmeError, toAcmeError } from './problems';
import { accountJson, authzJson, challengeJson, orderJson } from './render';
import { parseCertId, renewalWindow, RENEWAL_INFO_RETRY_AFTER } from './renewal-info';
import { revokeCertificate } from './revocation';

type Params = { ca: string; id?: string; type?: string };
/** How often expired nonces, orders and authorizations are removed from the store. */
const PRUNE_EVERY_MS = 10 * 60_000;
const jwsBody = {
  type: 'object',
  properties: { protected: { type: 'string' }, payload: { type: 'string' }, signature: { type: 'string' } },
  required: ['protected', 'payload', 'signature'],
} as const;
const caParam = { type: 'object', properties: { ca: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' } }, required: ['ca'] } as const;

/**
 * ACME (RFC 8555) under `/acme/{ca}/`: the web front end of Boulder's split — JWS and nonces
 * (context.ts, jws.ts), then the decisions in accounts.ts, orders.ts, challenges.ts (with the VA in
 * va/), finalize.ts, revocation.ts, renewal-info.ts, and storage in state.ts. Errors are ACME
 * problem documents; every POST answer carries a fresh Replay-Nonce.
 */
export function acmeRoutes(app: FastifyInstance, server: ServerContext): void {
  let loaded: { config: unknown; options: AcmeOptions } | undefined;
  const acme = new AcmeContext(server, parseAcmeOptions(server.services.configuration));
  // SIGHUP replaces the configuration: the acme section is read again on the next request.
  const refresh = () => {
    const config = server.services.configuration;
    if (loaded?.config !== config) {
      loaded = { config, options: parseAcmeOptions(config) };
      acme.options = loaded.options;
    }
  };
  const pruning = setInterval(
    () => void acme.prune((message, err) => app.log[err ? 'warn' : 'info']({ error: err instanceof Error ? err.message : undefined }, message)),
    PRUNE_EVERY_MS,
  );
  pruning.unref();
  app.addHook('onClose', (_instance, done) => {
    clearInterval(pruning);
    done();
  });
  void app.register(
    (instance, _opts, done) => {
      acmeInstance(instance, acme, server, refresh);
      done();
    },
    { prefix: '/acme/:ca' },
  );
}

/** The encapsulated ACME instance: its body parser, hooks (fresh nonce, Link index, no-store), error handler and routes. */
function acmeInstance(instance: FastifyInstance, acme: AcmeContext, server: ServerContext, refresh: () => void): void {
  // ACME takes JWS bodies only (RFC 8555 §6.2): any other type is refused with 415.
  instance.removeAllContentTypeParsers();
  instance.addContentTypeParser('application/jose+json', { parseAs: 'string' }, (_req, body, next) => {
    try {
      next(null, JSON.parse(body as string));
    } catch {
      next(new AcmeError('malformed', 'the request body is not JSON'), undefined);
    }
  });
  instance.addHook('onRequest', (_request, _reply, next) => {
    refresh();
    next();
  });
  instance.addHook('onSend', async (request: FastifyRequest<{ Params: Params }>, reply: FastifyReply) => {
    reply.header('cache-control', 'no-store');
    const index = `<${AcmeUrls.of(request, request.params.ca).directory}>;rel="index"`;
    const links = reply.getHeader('link');
    reply.header('link', links === undefined ? index : [...(Array.isArray(links) ? links : [String(links)]), index]);
    if (request.method === 'POST' || request.url.endsWith('/new-nonce')) {
      try {
        reply.header('replay-nonce', await acme.state(request.params.ca).issueNonce());
      } catch {
        // No nonce (the store is down or keeps no state): the answer goes out; the client asks newNonce again.
      }
    }
  });
  instance.setErrorHandler((err, request, reply) => {
    const problem = toAcmeError(fromFastify(err));
    server.metrics.errors.inc({ code: problem.code });
    if (problem.status >= 500)
      request.log.error(
        { failure: { kind: problem.acmeType, message: problem.message, cause: problem.cause instanceof Error ? problem.cause.message : undefined } },
        'acme request failed',
      );
    return reply.code(problem.status).headers(problem.headers).type('application/problem+json').send(problem.toJSON());
  });
  directoryRoutes(instance, acme);
  accountRoutes(instance, acme);
  orderRoutes(instance, acme);
}

function fromFastify(err: unknown): unknown {
  const e = err as { validation?: unknown; statusCode?: number; message?: string; code?: string };
  if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return new AcmeError('malformed', 'ACME requests are application/jose+json', { status: 415 });
  if (e.validation || (typeof e.statusCode === 'number' && e.statusCode < 500 && !(err instanceof AcmeError))) {
    return new AcmeError('malformed', e.message ?? 'malformed request', { status: e.statusCode === 413 ? 413 : 400 });
  }
  return err;
}

function directoryRoutes(app: FastifyInstance, acme: AcmeContext): void {
  app.get<{ Params: Params }>('/directory', { schema: { params: caParam, tags: ['acme'], summary: 'ACME directory (RFC 8555 §7.1.1)' } }, async (request) => {
    acme.state(request.params.ca);
    await acme.server.services.service(request.params.ca).requireCa(request.params.ca);
    const urls = AcmeUrls.of(request, request.params.ca);
    const o = acme.options;
    return {
      newNonce: `${urls.base}/new-nonce`,
      newAccount: `${urls.base}/new-account`,
      newOrder: `${urls.base}/new-order`,
      revokeCert: `${urls.base}/revoke-cert`,
      keyChange: `${urls.base}/key-change`,
      renewalInfo: `${urls.base}/renewal-info`,
      meta: {
        externalAccountRequired: o.externalAccountRequired,
        profiles: Object.fromEntries([...o.profiles.values()].map((p) => [p.name, p.description])),
        ...(o.termsOfService ? { termsOfService: o.termsOfService } : {}),
      },
    };
  });
  const nonce = { schema: { params: caParam, tags: ['acme'], summary: 'A fresh nonce in Replay-Nonce' } };
  app.head<{ Params: Params }>('/new-nonce', nonce, (_request, reply) => reply.code(200).send());
  app.get<{ Params: Params }>('/new-nonce', nonce, (_request, reply) => reply.code(204).send());
  app.get<{ Params: Params & { id: string } }>(
    '/renewal-info/:id',
    { schema: { tags: ['acme'], summary: 'ACME Renewal Information (RFC 9773)' } },
    async (request, reply) => {
      acme.state(request.params.ca);
      const { serial, record } = await parseCertId(acme, request.params.ca, request.params.id);
      const override = await acme.state(request.params.ca).renewalOverride(request.params.ca, serial);
      reply.header('retry-after', String(RENEWAL_INFO_RETRY_AFTER));
      const window = renewalWindow(record, override);
      return { suggestedWindow: { start: window.start, end: window.end }, ...(window.explanationURL ? { explanationURL: window.explanationURL } : {}) };
    },
  );
}

/** A POST route with a verified JWS. */
function post(
  app: FastifyInstance,
  acme: AcmeContext,
  path: string,
  keyFrom: 'jwk' | 'kid' | 'either',
  summary: string,
  handle: (req: AcmeRequest, params: Params, reply: FastifyReply) => Promise<unknown>,
): void {
  app.post<{ Params: Params }>(path, { schema: { body: jwsBody, tags: ['acme'], summary } }, async (request, reply) => {
    const req = await acme.verify(request, request.params.ca, keyFrom);
    return handle(req, request.params, reply);
  });
}

function accountRoutes(app: FastifyInstance, acme: AcmeContext): void {
  post(app, acme, '/new-account', 'jwk', 'newAccount', async (req, _params, reply) => {
    const { account, created } = await newAccount(acme, req);
    return reply
      .code(created ? 201 : 200)
      .header('location', req.urls.account(account.id))
      .send(accountJson(account));
  });
  post(app, acme, '/acct/:id', 'kid', 'Account', async (req, params) => accountJson(await updateAccount(acme, req, params.id!)));
  post(app, acme, '/key-change', 'kid', 'keyChange', async (req) => accountJson(await changeKey(acme, req)));
  post(app, acme, '/revoke-cert', 'either', 'revokeCert', async (req, _params, reply) => {
    await revokeCertificate(acme, req);
    return reply.code(200).send();
  });
}

function orderRoutes(app: FastifyInstance, acme: AcmeContext): void {
  post(app, acme, '/new-order', 'kid', 'newOrder', async (req, _params, reply) => {
    const order = await createOrder(acme, req);
    return reply.code(201).header('location', req.urls.order(order.id)).send(orderJson(order, req.urls));
  });
  post(app, acme, '/order/:id', 'kid', 'Order', async (req, params) => orderJson((await ownOrder(acme, req, params.id!)).value, req.urls));
  post(app, acme, '/order/:id/finalize', 'kid', 'finalize', async (req, params, reply) => {
    const order = await finalizeOrder(acme, req, params.id!);
    return reply.header('location', req.urls.order(order.id)).send(orderJson(order, req.urls));
  });
  post(app, acme, '/authz/:id', 'kid', 'Authorization', async (req, params) => {
    const authz = await ownAuthz(acme, req, params.id!);
    const body = req.payload as { status?: unknown } | undefined;
    if (body?.status === 'deactivated') {
      const next = { ...authz.value, status: 'deactivated' as const };
      await acme.state(req.ca).updateAuthz(next, authz.version);
      return authzJson(next, req.urls);
    }
    return authzJson(authz.value, req.urls);
  });
  post(app, acme, '/chall/:id/:type', 'kid', 'Challenge', async (req, params, reply) => {
    const { challenge } =
      req.payload === undefined
        ? { challenge: (await ownAuthz(acme, req, params.id!)).value.challenges.find((c) => c.type === params.type) }
        : await respondToChallenge(acme, req, params.id!, params.type!);
    if (!challenge) throw new AcmeError('malformed', `no ${params.type} challenge`, { status: 404 });
    return reply.header('link', `<${req.urls.authz(params.id!)}>;rel="up"`).send(challengeJson(challenge, params.id!, req.urls));
  });
  post(app, acme, '/cert/:id', 'kid', 'Certificate (PEM chain)', async (req, params, reply) => {
    const issued = await acme.state(req.ca).issued(req.ca, params.id!);
    if (!issued || issued.value.accountId !== req.account!.value.id)
      throw new AcmeError('unauthorized', `certificate ${params.id} was not ordered by this account`);
    const found = await acme.server.services.service(req.ca).requireCertificate(params.id!);
    const chain = [found.certPem, found.ca.certPem, ...found.ca.chainPem.slice(0, -1)].join('');
    return reply.type('application/pem-certificate-chain').send(chain);
  });
}
