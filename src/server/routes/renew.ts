import { X509Certificate } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { parseCsr } from '../../core/csr';
import { parseDuration } from '../../core/duration';
import { InvalidInputError, PolicyError, UnauthorizedError } from '../../core/errors';
import type { AuthorizedNames, RequestedCertificate } from '../../core/issuance-service';
import type { CertificateRecord } from '../../core/types';
import type { ServerContext } from '../context';
import { keepsState } from '../../core/cert-store';
import { issuedByAcme } from '../../acme/state';
import { issuedBody } from './issued';
import { problemResponses } from './schemas';

interface RenewBody {
  csr?: string;
  ttl?: string;
}

const renewBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    csr: { type: 'string', minLength: 1, description: 'a CSR for a new key with the same names (rekey); without it the same key is certified again' },
    ttl: { type: 'string', description: 'validity (default: that of the certificate renewed)' },
  },
} as const;

/**
 * `POST /v1/renew`: the caller proves itself with the certificate to renew (mTLS) — any certificate
 * the CA issued and has not revoked, whatever its EKU — and gets one with the same profile, subject
 * and names and a new validity; with a CSR (same names), for a new key.
 */
export function renewRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.post<{ Body: RenewBody | undefined }>(
    '/v1/renew',
    {
      schema: {
        summary: 'Renew the client certificate of this connection',
        tags: ['certificates'],
        body: renewBody,
        response: { 201: { $ref: 'Issued#' }, ...problemResponses },
      },
    },
    async (request, reply) => {
      const principal = await ctx.principal(request);
      const identity = principal?.certificate;
      if (!identity) throw new UnauthorizedError('renewal needs the certificate to renew as the TLS client certificate (mTLS)');
      const body = request.body ?? {};
      const record = identity.record;
      const store = ctx.services.store(identity.ca);
      if (keepsState(store) && (await issuedByAcme(store, identity.ca, identity.serial))) {
        throw new PolicyError(`certificate ${identity.serial} was issued over ACME; renew it with its ACME client, which proves control of its names again`);
      }
      const requested: RequestedCertificate = body.csr ? await parseCsr(body.csr, 'csr') : fromCertificate(identity.certDer, record);
      const lifetime = Math.round((Date.parse(record.notAfter) - Date.parse(record.notBefore)) / 1000) - 60;
      const result = await ctx.services
        .service(identity.ca)
        .signRequest(requested, record.profile, body.ttl ? parseDuration(body.ttl, 'ttl') : undefined, 'csr', {
          authorize: (names) => sameNames(record, names),
          defaultTtlSeconds: lifetime,
          auditDetail: { via: 'serve renew', renews: identity.serial, rekey: Boolean(body.csr) },
        });
      return reply.code(201).send(issuedBody(ctx, result));
    },
  );
}

/** The renewed certificate's names and key, as a request without a CSR. */
function fromCertificate(der: Buffer, record: CertificateRecord): RequestedCertificate {
  const spkiDer = new X509Certificate(der).publicKey.export({ type: 'spki', format: 'der' });
  return {
    commonName: record.commonName,
    subject: record.subject ?? {},
    dnsNames: record.dnsNames,
    ipAddresses: record.ipAddresses,
    uris: record.uris ?? [],
    emails: record.emails ?? [],
    spkiDer,
    keyType: record.keyType,
    ignored: [],
  };
}

/**
 * A renewal keeps the names: a CSR asking for others is refused (get those with a new enrollment).
 * @throws PolicyError naming the difference.
 */
function sameNames(record: CertificateRecord, names: AuthorizedNames): void {
  const key = (values: string[] | undefined) => [...(values ?? [])].sort().join(',');
  const pairs: [string, string, string][] = [
    ['CN', record.commonName, names.commonName],
    ['DNS names', key(record.dnsNames), key(names.dnsNames)],
    ['IP addresses', key(record.ipAddresses), key(names.ipAddresses)],
    ['URIs', key(record.uris), key(names.uris)],
    ['emails', key(record.emails), key(names.emails)],
  ];
  for (const [what, had, asked] of pairs) {
    if (had !== asked)
      throw new PolicyError(`a renewal keeps the certificate's ${what} (${had || 'none'}); the CSR asks for ${asked || 'none'} — enroll again for other names`);
  }
  const subject = (attrs: Record<string, string[] | undefined> | undefined) =>
    JSON.stringify(
      Object.entries(attrs ?? {})
        .filter(([, v]) => v && v.length)
        .sort(([a], [b]) => a.localeCompare(b)),
    );
  if (subject(record.subject) !== subject(names.subject)) {
    throw new PolicyError(`a renewal keeps the certificate's subject (${subject(record.subject)}); the CSR asks for ${subject(names.subject)}`);
  }
  if (names.profile !== record.profile) throw new InvalidInputError(`a renewal keeps the profile ${record.profile}`);
}
