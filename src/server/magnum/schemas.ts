import { problemSchema } from '../routes/schemas';

/** The body of `POST /v1/certificates`, as python-magnumclient and Magnum's node scripts send it. */
export interface SignBody {
  cluster_uuid: string;
  csr: string;
  ca_cert_type?: string;
}

export const signBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    cluster_uuid: { type: 'string', minLength: 1, description: 'the cluster UUID (or its name in serve.clusters)' },
    csr: { type: 'string', minLength: 1, description: 'PKCS#10 request, PEM' },
    ca_cert_type: { type: 'string', description: 'kubernetes (default), etcd or front_proxy' },
  },
  required: ['cluster_uuid', 'csr'],
} as const;

const linksSchema = {
  type: 'array',
  items: { type: 'object', properties: { href: { type: 'string' }, rel: { type: 'string' } }, required: ['href', 'rel'] },
} as const;

/** Magnum's Certificate resource: the CA certificate (GET) or the signed certificate with its CSR (POST). */
export const certificateSchema = {
  type: 'object',
  properties: {
    cluster_uuid: { type: 'string' },
    pem: { type: 'string', description: 'PEM: the CA certificate (GET), the signed certificate (POST)' },
    csr: { type: 'string', description: 'the CSR signed (POST)' },
    ca_cert_type: { type: 'string' },
    links: linksSchema,
    warnings: { type: 'array', items: { type: 'string' }, description: 'certctl’s, not Magnum’s: what the profile did not take from the CSR' },
  },
  required: ['cluster_uuid', 'pem', 'links'],
} as const;

/** The part of Magnum's Cluster resource its clients read before a CA call. */
export const clusterSchema = {
  type: 'object',
  properties: { uuid: { type: 'string' }, name: { type: 'string' }, links: linksSchema },
  required: ['uuid', 'links'],
} as const;

/** A problem document with Magnum's `errors` list as an extension member (what python-magnumclient reads). */
export const magnumProblemSchema = {
  $id: 'MagnumProblem',
  type: 'object',
  description: 'RFC 9457 problem document, plus `errors` in the shape of Magnum’s error answers',
  properties: {
    ...problemSchema.properties,
    errors: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          request_id: { type: 'string' },
          code: { type: 'string', enum: ['client', 'server'] },
          status: { type: 'integer' },
          title: { type: 'string' },
          detail: { type: 'string' },
          links: { type: 'array', items: { type: 'object' } },
        },
        required: ['code', 'status', 'title'],
      },
    },
  },
  required: [...problemSchema.required, 'errors'],
} as const;

/** The error answers of the Magnum routes. */
export const magnumResponses = Object.fromEntries([400, 401, 403, 404, 409, 413, 429, 500, 503].map((s) => [s, { $ref: 'MagnumProblem#' }]));
