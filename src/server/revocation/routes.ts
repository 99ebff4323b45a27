import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { OCSPResponseStatus } from '@peculiar/asn1-ocsp';
import type { Counter } from 'prom-client';
import type { ServerContext } from '../context';
import { HttpProblem } from '../problems';
import { CrlCache } from './crl-cache';
import { OcspResponder, type OcspAnswer } from './ocsp-responder';
import { refuseOthersOnPlainHttp } from './public-listener';
import { statusResponse } from './ocsp-response';
import { ResponderKeys } from './responder-keys';
import { RevocationWatch } from './revocation-watch';
import { ServedCas } from './served-cas';

/** The largest OCSP request taken: a signed request with its certificate fits; a few certificates' CertIDs take ~100 octets each. */
export const OCSP_BODY_LIMIT = 16 * 1024;

const binary = (description: string) => ({ description, content: { 'application/ocsp-response': { schema: { type: 'string', format: 'binary' } } } });
const caParam = { ca: { type: 'string', description: 'the CA name' } };
const problem = { $ref: 'Problem#' };
// Bodies here are DER (a Buffer), which JSON-schema validation cannot take; the schemas are for /openapi.json.
const documentOnly = () => () => true;

/**
 * `GET /crl/{ca}.crl` (DER) and `/crl/{ca}.pem`, `POST /ocsp/{ca}` and `GET /ocsp/{ca}/{base64
 * request}` (RFC 6960 appendix A): public, no authentication, no per-client rate limit (answers
 * are cached; a nonce costs one signature, as the TLS handshake before it did). Answers are signed
 * data, so the plain-HTTP listener serves these routes too. Malformed OCSP requests get HTTP 400
 * with a malformedRequest OCSPResponse body (RFC 6960 2.3: the client reads the status from the
 * body); an unknown CA, a wrong content type or an oversized body get problem documents (404, 415, 413).
 */
export function revocationRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const watch = new RevocationWatch(ctx.services);
  const cas = new ServedCas(ctx.services);
  const crls = new CrlCache(ctx.services, watch);
  const keys = new ResponderKeys(
    ctx.services,
    () => ctx.options,
    () => app.log,
  );
  const ocsp = new OcspResponder(ctx.services, cas, watch, keys, () => ctx.options);
  ctx.onRevoked((ca) => {
    crls.drop(ca);
    ocsp.drop(ca);
  });
  refuseOthersOnPlainHttp(app);
  app.addHook('onReady', async () => keys.check(ctx.services.defaultCa));
  crlRoutes(app, cas, crls);
  ocspRoutes(app, cas, ocsp, ocspCounter(ctx));
}

const noLimit = { rateLimit: false as const };

function crlRoutes(app: FastifyInstance, cas: ServedCas, crls: CrlCache): void {
  const sendCrl = async (request: FastifyRequest<{ Params: { ca: string } }>, reply: FastifyReply, pem: boolean) => {
    const ca = await cas.get(request.params.ca);
    const crl = await crls.get(ca.name);
    // Revalidated on every use: a revocation must reach every fetch at once, so no max-age; If-None-Match makes that cheap.
    void reply.header('etag', crl.etag).header('cache-control', 'no-cache').header('last-modified', crl.thisUpdate.toUTCString());
    if (request.headers['if-none-match'] === crl.etag) return reply.code(304).send();
    return pem ? reply.type('application/x-pem-file').send(crl.pem) : reply.type('application/pkix-crl').send(crl.der);
  };
  const crlSchema = (type: string, summary: string) => ({
    summary,
    tags: ['revocation'],
    params: { type: 'object', properties: caParam, required: ['ca'] },
    response: {
      200: { description: 'the CRL', content: { [type]: { schema: { type: 'string', format: 'binary' } } } },
      304: { description: 'unchanged' },
      404: problem,
      503: problem,
    },
  });
  app.get<{ Params: { ca: string } }>('/crl/:ca.crl', { schema: crlSchema('application/pkix-crl', "A CA's CRL, DER"), config: noLimit }, (request, reply) =>
    sendCrl(request, reply, false),
  );
  app.get<{ Params: { ca: string } }>('/crl/:ca.pem', { schema: crlSchema('application/x-pem-file', "A CA's CRL, PEM"), config: noLimit }, (request, reply) =>
    sendCrl(request, reply, true),
  );
}

const ocspResponses = {
  200: binary('an OCSPResponse (RFC 6960 4.2.1), DER: successful and signed, or unauthorized for another issuer'),
  400: binary('a malformedRequest OCSPResponse, DER'),
  404: problem,
  413: problem,
  415: problem,
  503: problem,
};

function ocspRoutes(app: FastifyInstance, cas: ServedCas, ocsp: OcspResponder, answers: Counter<'ca' | 'source'>): void {
  app.addContentTypeParser('application/ocsp-request', { parseAs: 'buffer', bodyLimit: OCSP_BODY_LIMIT }, (_request, body, done) => done(null, body));
  const send = (reply: FastifyReply, ca: string, answer: OcspAnswer) => {
    answers.inc({ ca, source: answer.source });
    return reply.code(answer.httpStatus).type('application/ocsp-response').header('cache-control', 'no-cache').send(answer.der);
  };
  app.post<{ Params: { ca: string }; Body: Buffer | undefined }>(
    '/ocsp/:ca',
    {
      schema: {
        summary: 'OCSP (RFC 6960), POST',
        tags: ['revocation'],
        params: { type: 'object', properties: caParam, required: ['ca'] },
        body: { content: { 'application/ocsp-request': { schema: { type: 'string', format: 'binary', description: 'an OCSPRequest, DER' } } } },
        response: ocspResponses,
      },
      validatorCompiler: documentOnly,
      bodyLimit: OCSP_BODY_LIMIT,
      config: noLimit,
    },
    async (request, reply) => {
      // Fastify parses JSON and text bodies itself: anything but an OCSP request is refused before it is read as one.
      const type = (request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
      if (type !== 'application/ocsp-request') {
        throw new HttpProblem(
          415,
          'invalid_input',
          `an OCSP request is sent as application/ocsp-request (RFC 6960 A.1), not ${type || 'without a content type'}`,
        );
      }
      return send(reply, request.params.ca, await ocsp.respond(request.params.ca, Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0)));
    },
  );
  app.get<{ Params: { ca: string; '*': string } }>(
    '/ocsp/:ca/*',
    {
      schema: {
        summary: 'OCSP (RFC 6960), GET: the base64 of the DER request in the path',
        tags: ['revocation'],
        params: {
          type: 'object',
          properties: { ...caParam, '*': { type: 'string', description: 'base64 of the OCSPRequest DER, URL-encoded' } },
          required: ['ca'],
        },
        response: ocspResponses,
      },
      validatorCompiler: documentOnly,
      config: noLimit,
    },
    async (request, reply) => {
      const der = fromBase64(request.params['*']);
      if (!der) {
        await cas.get(request.params.ca);
        return send(reply, request.params.ca, { httpStatus: 400, der: statusResponse(OCSPResponseStatus.malformedRequest), source: 'status' });
      }
      return send(reply, request.params.ca, await ocsp.respond(request.params.ca, der));
    },
  );
}

/** Strict base64 (the router has already URL-decoded it), or undefined: Buffer.from would skip stray characters. */
function fromBase64(text: string): Buffer | undefined {
  if (text.length === 0 || text.length > 4 * Math.ceil(OCSP_BODY_LIMIT / 3) || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return undefined;
  return Buffer.from(text, 'base64');
}

function ocspCounter(ctx: ServerContext): Counter<'ca' | 'source'> {
  const prom = require('prom-client') as typeof import('prom-client');
  return new prom.Counter({
    name: 'certctl_ocsp_responses_total',
    help: 'OCSP answers by CA and how they were made (cache, signed, status: malformedRequest or unauthorized)',
    labelNames: ['ca', 'source'],
    registers: [ctx.metrics.registry],
  });
}
