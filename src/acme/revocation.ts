import { X509Certificate } from 'node:crypto';
import type { JWK } from 'jose';
import { parseSerial } from '../core/serial';
import type { RevocationReason } from '../core/types';
import { pemBlocks } from '../core/x509/pem';
import type { AcmeContext, AcmeRequest } from './context';
import { thumbprint } from './jws';
import { AcmeError, toAcmeError } from './problems';

/** RFC 5280 CRLReason codes certctl revokes with (the others are refused as badRevocationReason). */
const REASONS: Record<number, RevocationReason> = { 0: 'unspecified', 1: 'keyCompromise', 3: 'affiliationChanged', 4: 'superseded', 5: 'cessationOfOperation' };

/**
 * revokeCert (RFC 8555 §7.6): the certificate must be this CA's (the inventory's very copy); the
 * request is signed either by the account that ordered it (kid) or by the certificate's own key (jwk).
 * @throws AcmeError malformed, unauthorized, alreadyRevoked, badRevocationReason.
 */
export async function revokeCertificate(acme: AcmeContext, req: AcmeRequest): Promise<void> {
  const body = (req.payload ?? {}) as { certificate?: unknown; reason?: unknown };
  if (typeof body.certificate !== 'string') throw new AcmeError('malformed', 'revokeCert needs {"certificate": base64url(DER)}');
  const reasonCode = body.reason === undefined ? 0 : body.reason;
  const reason = typeof reasonCode === 'number' ? REASONS[reasonCode] : undefined;
  if (!reason) throw new AcmeError('badRevocationReason', `reason ${JSON.stringify(reasonCode)} is not one certctl revokes with (0, 1, 3, 4, 5)`);
  const der = Buffer.from(body.certificate, 'base64url');
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(der);
  } catch (err) {
    throw new AcmeError('malformed', 'the certificate cannot be parsed', { cause: err });
  }
  const serial = parseSerial(cert.serialNumber);
  const found = await acme.server.services.store(req.ca).get(req.ca, serial);
  if (!found || !pemBlocks(found.certPem, 'CERTIFICATE')[0]?.equals(der))
    throw new AcmeError('unauthorized', `certificate ${serial} was not issued by this CA`);
  if (found.record.status === 'revoked') throw new AcmeError('alreadyRevoked', `certificate ${serial} is already revoked`);
  if (req.account) {
    const issued = await acme.state(req.ca).issued(req.ca, serial);
    if (issued?.value.accountId !== req.account.value.id) throw new AcmeError('unauthorized', `certificate ${serial} was not ordered by this account`);
  } else {
    const certKey = cert.publicKey.export({ format: 'jwk' }) as JWK;
    if ((await thumbprint(certKey)) !== (await thumbprint(req.jwk))) throw new AcmeError('unauthorized', 'the request is not signed by the certificate’s key');
  }
  try {
    await acme.server.services.service(req.ca).revoke([serial], reason);
  } catch (err) {
    throw toAcmeError(err, 'unauthorized');
  }
  acme.server.metrics.revoked.inc({ ca: req.ca });
  acme.server.revoked(req.ca, [serial]);
}
