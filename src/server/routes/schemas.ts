/**
 * JSON schemas shared by routes: what @fastify/swagger puts into /openapi.json, and what Fastify
 * validates requests and serializes responses with.
 */
export const problemSchema = {
  $id: 'Problem',
  type: 'object',
  description: 'RFC 9457 problem document; `code` is the certctl CLI error code of the same failure',
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    code: { type: 'string' },
    instance: { type: 'string' },
  },
  required: ['type', 'title', 'status', 'detail', 'code'],
} as const;

export const caParams = {
  type: 'object',
  properties: { ca: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' } },
  required: ['ca'],
} as const;

export const certificateRecordSchema = {
  $id: 'CertificateRecord',
  type: 'object',
  properties: {
    serial: { type: 'string' },
    ca: { type: 'string' },
    profile: { type: 'string' },
    commonName: { type: 'string' },
    subject: { type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } } },
    dnsNames: { type: 'array', items: { type: 'string' } },
    ipAddresses: { type: 'array', items: { type: 'string' } },
    uris: { type: 'array', items: { type: 'string' } },
    emails: { type: 'array', items: { type: 'string' } },
    keyType: { type: 'string' },
    notBefore: { type: 'string', format: 'date-time' },
    notAfter: { type: 'string', format: 'date-time' },
    issuedAt: { type: 'string', format: 'date-time' },
    hasKey: { type: 'boolean' },
    sha256: { type: 'string' },
    status: { type: 'string', enum: ['valid', 'revoked'] },
    revokedAt: { type: 'string', format: 'date-time' },
    revocationReason: { type: 'string' },
  },
  required: ['serial', 'profile', 'commonName', 'dnsNames', 'ipAddresses', 'keyType', 'notBefore', 'notAfter', 'status', 'sha256'],
} as const;

export const issuedSchema = {
  $id: 'Issued',
  type: 'object',
  properties: {
    serial: { type: 'string' },
    ca: { type: 'string' },
    profile: { type: 'string' },
    notBefore: { type: 'string', format: 'date-time' },
    notAfter: { type: 'string', format: 'date-time' },
    certificate: { type: 'string', description: 'the certificate, PEM' },
    chain: { type: 'array', items: { type: 'string' }, description: 'the CA certificate and those above it, PEM, nearest first' },
    warnings: { type: 'array', items: { type: 'string' } },
  },
  required: ['serial', 'ca', 'profile', 'notBefore', 'notAfter', 'certificate', 'chain', 'warnings'],
} as const;

/** Error responses every authenticated route may give. */
export const problemResponses = {
  400: { $ref: 'Problem#' },
  401: { $ref: 'Problem#' },
  403: { $ref: 'Problem#' },
  404: { $ref: 'Problem#' },
  409: { $ref: 'Problem#' },
  413: { $ref: 'Problem#' },
  429: { $ref: 'Problem#' },
  503: { $ref: 'Problem#' },
} as const;
