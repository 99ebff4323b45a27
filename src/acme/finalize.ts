import { parseCsr } from '../core/csr';
import { toPem } from '../core/x509/pem';
import { advanceOrder } from './challenges';
import type { AcmeContext, AcmeRequest } from './context';
import { AcmeError, toAcmeError } from './problems';
import type { OrderRecord } from './records';
import { parseCertId } from './renewal-info';
import type { Versioned } from './state';

/** An order of the requesting account. @throws AcmeError 404 / unauthorized. */
export async function ownOrder(acme: AcmeContext, req: AcmeRequest, orderId: string): Promise<Versioned<OrderRecord>> {
  const found = await acme.state(req.ca).order(orderId);
  if (!found || found.value.ca !== req.ca) throw new AcmeError('malformed', `no order ${orderId}`, { status: 404 });
  if (found.value.accountId !== req.account!.value.id) throw new AcmeError('unauthorized', `order ${orderId} belongs to another account`);
  return found;
}

/**
 * finalize (RFC 8555 §7.4): the order must be ready; the CSR must name exactly the order's
 * identifiers (a CN, if any, among them); then the core signs it with the order's profile — the
 * same IssuanceService and policy as `certctl sign` — and the order becomes valid.
 * @throws AcmeError orderNotReady (403), badCSR (policy or a CSR that does not match), malformed.
 */
export async function finalizeOrder(acme: AcmeContext, req: AcmeRequest, orderId: string): Promise<OrderRecord> {
  const state = acme.state(req.ca);
  await ownOrder(acme, req, orderId);
  const order = (await advanceOrder(acme, req.ca, orderId))!;
  if (order.value.status !== 'ready' || Date.parse(order.value.expires) <= Date.now()) {
    throw new AcmeError(
      'orderNotReady',
      `order ${orderId} is ${order.value.status}${order.value.status === 'pending' ? ': complete its authorizations first' : ''}`,
    );
  }
  const csrB64 = (req.payload as { csr?: unknown } | undefined)?.csr;
  if (typeof csrB64 !== 'string' || !/^[A-Za-z0-9_-]+$/.test(csrB64)) throw new AcmeError('malformed', 'finalize needs {"csr": base64url(DER)}');
  const csrPem = toPem(Buffer.from(csrB64, 'base64url'), 'CERTIFICATE REQUEST');
  await checkCsrNames(csrPem, order.value);
  const profile = acme.options.profiles.get(order.value.profile)!;
  for (const identifier of order.value.identifiers) {
    acme.limits.take(`name:${req.ca}:${identifier.value}`, acme.options.certificatesPerNamePerWeek, 7 * 86400_000, `certificates for ${identifier.value}`);
  }
  const processing = await state.updateOrder({ ...order.value, status: 'processing' }, order.version).catch(() => {
    throw new AcmeError('orderNotReady', `order ${orderId} is being finalized by another request`);
  });
  let serial: string;
  try {
    const result = await acme.server.services.service(req.ca).signCsr(csrPem, profile.profile, profile.ttlSeconds, 'csr', {
      auditDetail: { via: 'acme', account: req.account!.value.id, order: orderId, acmeProfile: profile.name },
    });
    serial = result.items[0].record.serial;
    acme.server.metrics.issued.inc({ ca: req.ca, profile: profile.profile });
  } catch (err) {
    await state.updateOrder({ ...processing.value, status: 'ready' }, processing.version);
    throw toAcmeError(err, 'badCSR');
  }
  const done = await state.updateOrder({ ...processing.value, status: 'valid', serial }, processing.version);
  await state.recordIssued(req.ca, serial, { accountId: req.account!.value.id, orderId });
  if (order.value.replaces) await markReplaced(acme, req.ca, order.value.replaces, orderId);
  return done.value;
}

/** The CSR names exactly the order's identifiers. @throws AcmeError badCSR naming the difference. */
async function checkCsrNames(csrPem: string, order: OrderRecord): Promise<void> {
  let csr;
  try {
    csr = await parseCsr(csrPem, 'csr');
  } catch (err) {
    throw toAcmeError(err, 'badCSR').acmeType === 'malformed' ? new AcmeError('badCSR', (err as Error).message, { cause: err }) : toAcmeError(err, 'badCSR');
  }
  const wanted = new Set(order.identifiers.map((i) => i.value));
  const asked = new Set([...csr.dnsNames.map((d) => d.toLowerCase()), ...csr.ipAddresses]);
  const missing = [...wanted].filter((v) => !asked.has(v));
  const extra = [...asked].filter((v) => !wanted.has(v));
  if (missing.length || extra.length) {
    throw new AcmeError(
      'badCSR',
      `the CSR must name exactly the order's identifiers${extra.length ? `; not in the order: ${extra.join(', ')}` : ''}${missing.length ? `; missing: ${missing.join(', ')}` : ''}`,
    );
  }
  const cn = csr.commonName.toLowerCase();
  if (cn && !wanted.has(cn)) throw new AcmeError('badCSR', `the CSR's CN "${csr.commonName}" is not one of the order's identifiers`);
  if (csr.uris.length || csr.emails.length) throw new AcmeError('badCSR', 'the CSR names URIs or emails; an ACME order covers DNS names and IP addresses only');
}

/** RFC 9773: the replaced certificate is marked, once; a race with another order loses quietly (the certificate is issued). */
async function markReplaced(acme: AcmeContext, ca: string, certId: string, orderId: string): Promise<void> {
  const state = acme.state(ca);
  const { serial } = await parseCertId(acme, ca, certId);
  const issued = await state.issued(ca, serial);
  if (issued && !issued.value.replacedBy) await state.updateIssued(ca, serial, { ...issued.value, replacedBy: orderId }, issued.version).catch(() => undefined);
}
