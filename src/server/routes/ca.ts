import type { FastifyInstance } from 'fastify';
import { sha256Fingerprint } from '../../core/x509/fingerprint';
import { pemBlocks } from '../../core/x509/pem';
import type { ServerContext } from '../context';
import { caParams, problemResponses } from './schemas';

const caSchema = {
  type: 'object',
  properties: {
    ca: { type: 'string' },
    certificate: { type: 'string', description: 'the CA certificate, PEM' },
    chain: { type: 'array', items: { type: 'string' }, description: 'the certificates above it, nearest first, PEM' },
    sha256: { type: 'string', description: 'SHA-256 fingerprint of the CA certificate, as `openssl x509 -fingerprint -sha256` prints it' },
    keyType: { type: 'string' },
  },
  required: ['ca', 'certificate', 'chain', 'sha256', 'keyType'],
} as const;

/** `GET /v1/ca`, `GET /v1/ca/{ca}`: a CA's certificate and chain (`certctl ca show`); public. */
export function caRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const show = async (name: string) => {
    const record = await ctx.services.service(name).requireCa(name);
    const sha256 = sha256Fingerprint(pemBlocks(record.certPem, 'CERTIFICATE')[0]);
    return { ca: record.name, certificate: record.certPem, chain: record.chainPem, sha256, keyType: record.keyType };
  };
  const response = { 200: caSchema, ...problemResponses };
  app.get('/v1/ca', { schema: { summary: "The default CA's certificate and chain", tags: ['ca'], response } }, () => show(ctx.services.defaultCa));
  app.get<{ Params: { ca: string } }>(
    '/v1/ca/:ca',
    { schema: { summary: "A CA's certificate and chain", tags: ['ca'], params: caParams, response } },
    (request) => show(request.params.ca),
  );
}
