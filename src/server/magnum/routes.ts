import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { NotSupportedError, PolicyError } from '../../core/errors';
import { authorizeSigning, type Principal } from '../access';
import type { ServerContext } from '../context';
import { issuedBody } from '../routes/issued';
import { caCertType, clusterCa, clusterFor, missingOnGet, missingOnPost } from './clusters';
import { magnumProblemSchema, magnumResponses, certificateSchema, clusterSchema, signBody, type SignBody } from './schemas';

/**
 * Magnum's certificate API (magnum/api/controllers/v1/certificate.py), for python-magnumclient
 * (`openstack coe ca show|sign`, `coe cluster config`) and the cluster nodes' scripts:
 * `GET /v1/certificates/{cluster}` → 200 the CA certificate, `POST /v1/certificates` → 201 the
 * CSR signed, `PATCH` (rotate) refused, and `GET /v1/clusters/{cluster}` with just what those
 * clients read (the UUID). Callers authenticate with a Keystone token (X-Auth-Token) or mTLS.
 */
export function magnumRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.addSchema(magnumProblemSchema);
  caCertificateRoute(app, ctx);
  signRoute(app, ctx);
  clusterRoutes(app, ctx);
}

const hooks = { onRequest: openStackRequestId, preSerialization: magnumErrors, onSend: magnumErrorType };
/** Documents the Keystone token in /openapi.json (an mTLS client certificate works instead). */
const authHeaders = {
  type: 'object',
  properties: { 'x-auth-token': { type: 'string', description: 'a Keystone token, as Magnum takes it (or present an mTLS client certificate)' } },
} as const;
const clusterParams = { type: 'object', properties: { cluster: { type: 'string', minLength: 1 } }, required: ['cluster'] } as const;

/** `GET /v1/certificates/{cluster}`: the CA certificate of the cluster's CA of that type. */
function caCertificateRoute(app: FastifyInstance, ctx: ServerContext): void {
  app.get<{ Params: { cluster: string }; Querystring: { ca_cert_type?: string } }>(
    '/v1/certificates/:cluster',
    {
      ...hooks,
      schema: {
        summary: 'Magnum: the CA certificate of a cluster (the certctl CA it maps to in serve.clusters)',
        tags: ['magnum'],
        params: clusterParams,
        headers: authHeaders,
        querystring: { type: 'object', properties: { ca_cert_type: { type: 'string', description: 'kubernetes (default), etcd or front_proxy' } } },
        response: { 200: certificateSchema, ...magnumResponses },
      },
    },
    async (request) => {
      const principal = await magnumCaller(ctx, request);
      const cluster = clusterFor(ctx.options, request.params.cluster, principal, missingOnGet);
      const type = caCertType(request.query.ca_cert_type);
      const ca = clusterCa(cluster, type, missingOnGet);
      const record = await ctx.services.service(ca).requireCa(ca);
      return {
        cluster_uuid: cluster.uuid,
        pem: record.certPem,
        ...(request.query.ca_cert_type ? { ca_cert_type: type } : {}),
        links: links(request, cluster.uuid),
      };
    },
  );
}

/** `POST /v1/certificates`: a CSR signed by the cluster's CA, with the cluster's profile (else serve.magnum.profile). */
function signRoute(app: FastifyInstance, ctx: ServerContext): void {
  app.post<{ Body: SignBody }>(
    '/v1/certificates',
    {
      ...hooks,
      schema: {
        summary: "Magnum: sign a CSR with a cluster's CA",
        tags: ['magnum'],
        body: signBody,
        headers: authHeaders,
        response: { 201: certificateSchema, ...magnumResponses },
      },
    },
    async (request, reply) => {
      const principal = await magnumCaller(ctx, request);
      const body = request.body;
      const cluster = clusterFor(ctx.options, body.cluster_uuid, principal, missingOnPost);
      const type = caCertType(body.ca_cert_type);
      const ca = clusterCa(cluster, type, missingOnPost);
      const profile = cluster.profile ?? ctx.options.magnumProfile;
      const result = await ctx.services.service(ca).signCsr(body.csr, profile, undefined, 'csr', {
        authorize: (names) => authorizeSigning(principal, names, ctx.options),
        auditDetail: { via: 'serve magnum', principal: principal.id, cluster: cluster.uuid, caCertType: type },
      });
      const issued = issuedBody(ctx, result);
      return reply.code(201).send({
        cluster_uuid: cluster.uuid,
        csr: body.csr,
        pem: issued.certificate,
        ...(body.ca_cert_type ? { ca_cert_type: type } : {}),
        links: links(request, cluster.uuid),
        // Not Magnum's: what the profile did not take from the CSR (a subject O it does not allow is dropped, as by `certctl sign`).
        ...(issued.warnings.length ? { warnings: issued.warnings } : {}),
      });
    },
  );
}

/** `PATCH /v1/certificates/{cluster}` (CA rotation, refused) and `GET /v1/clusters/{cluster}`. */
function clusterRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.patch<{ Params: { cluster: string } }>(
    '/v1/certificates/:cluster',
    {
      ...hooks,
      schema: {
        summary: "Magnum: rotate a cluster's CA (not supported)",
        tags: ['magnum'],
        params: clusterParams,
        headers: authHeaders,
        response: magnumResponses,
      },
    },
    async (request) => {
      const principal = await magnumCaller(ctx, request);
      const cluster = clusterFor(ctx.options, request.params.cluster, principal, missingOnGet);
      throw new NotSupportedError(
        `certctl does not rotate cluster ${cluster.uuid}'s CA in place (Magnum redeploys the cluster for that): create a new CA with \`certctl init --ca NAME\`, map the cluster to it in serve.clusters, reload (SIGHUP), then redeploy the cluster's certificates`,
      );
    },
  );

  app.get<{ Params: { cluster: string } }>(
    '/v1/clusters/:cluster',
    {
      ...hooks,
      schema: {
        summary: 'Magnum: the cluster as python-magnumclient looks it up before a CA call (its UUID and name only)',
        tags: ['magnum'],
        params: clusterParams,
        headers: authHeaders,
        response: { 200: clusterSchema, ...magnumResponses },
      },
    },
    async (request) => {
      const principal = await magnumCaller(ctx, request);
      const cluster = clusterFor(ctx.options, request.params.cluster, principal, missingOnGet);
      return { uuid: cluster.uuid, ...(cluster.name ? { name: cluster.name } : {}), links: links(request, cluster.uuid, 'clusters') };
    },
  );
}

/**
 * The caller of a Magnum route: authenticated, and holding at least one certctl role (Magnum's
 * policy asks a reader role even to read a CA certificate).
 * @throws UnauthorizedError without proof; PolicyError for a caller without any role.
 */
async function magnumCaller(ctx: ServerContext, request: FastifyRequest): Promise<Principal> {
  const principal = await ctx.requirePrincipal(request);
  if (principal.roles.length === 0) {
    const how = principal.kind === 'keystone' ? 'serve.keystone.roles maps none of its Keystone roles' : 'no serve.clients entry gives it one';
    throw new PolicyError(`the caller (${principal.kind} ${principal.id}) holds no certctl role: ${how}`);
  }
  return principal;
}

/** Magnum's `links` of a resource: self and bookmark, on the host the client called. */
function links(request: FastifyRequest, uuid: string, collection = 'certificates') {
  const base = `${request.protocol}://${request.host}`;
  return [
    { href: `${base}/v1/${collection}/${uuid}`, rel: 'self' },
    { href: `${base}/${collection}/${uuid}`, rel: 'bookmark' },
  ];
}

/** OpenStack clients print this header's value with an error, as they do for Magnum's. */
function openStackRequestId(request: FastifyRequest, reply: FastifyReply, done: () => void): void {
  reply.header('x-openstack-request-id', `req-${request.id}`);
  done();
}

/**
 * Error answers go out as `application/json`, as Magnum's do: python-magnumclient (its
 * apiclient's from_response) reads the message only from a body of that media type, and would
 * print a bare "Not Found" for `application/problem+json`.
 */
function magnumErrorType(_request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (err: Error | null, value?: unknown) => void): void {
  if (reply.statusCode >= 400) reply.type('application/json; charset=utf-8');
  done(null, payload);
}

/**
 * Every error answer of these routes is a problem document that also carries Magnum's `errors`
 * list (RFC 9457 allows extension members): python-magnumclient reads its error text from there.
 */
function magnumErrors(request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (err: Error | null, value?: unknown) => void): void {
  const problem = payload as { status?: unknown; detail?: unknown; code?: unknown } | null;
  if (reply.statusCode < 400 || !problem || typeof problem.detail !== 'string') return done(null, payload);
  const errors = [
    {
      request_id: `req-${request.id}`,
      code: reply.statusCode >= 500 ? 'server' : 'client',
      status: reply.statusCode,
      title: problem.detail,
      detail: problem.detail,
      links: [],
    },
  ];
  done(null, { ...problem, errors });
}
