import type { AcmeContext, AcmeRequest } from './context';
import { AcmeError } from './problems';
import type { AuthzRecord, ChallengeRecord, OrderRecord } from './records';
import type { Versioned } from './state';
import { validateChallenge } from './va';

/**
 * A challenge POST (RFC 8555 §7.5.1): the challenge is validated within the request (as step-ca
 * does: the client's next poll finds it decided, instead of sleeping on a Retry-After), then the
 * authorization, and the order once every authorization is valid, move on. Compare-and-set on
 * every record, so two instances answering one order never both decide.
 * @throws AcmeError malformed (404) for an unknown authorization or type; unauthorized for another account's.
 */
export async function respondToChallenge(
  acme: AcmeContext,
  req: AcmeRequest,
  authzId: string,
  type: string,
): Promise<{ authz: AuthzRecord; challenge: ChallengeRecord }> {
  const state = acme.state(req.ca);
  const found = await ownAuthz(acme, req, authzId);
  const index = found.value.challenges.findIndex((c) => c.type === type);
  if (index < 0) throw new AcmeError('malformed', `authorization ${authzId} has no ${type} challenge`, { status: 404 });
  let authz = found.value;
  if (authz.status !== 'pending' || authz.challenges[index].status !== 'pending' || Date.parse(authz.expires) <= Date.now()) {
    return { authz, challenge: authz.challenges[index] };
  }
  const challenge = authz.challenges[index];
  const result = await validateChallenge(
    {
      type: challenge.type,
      identifier: authz.wildcard ? { type: 'dns', value: `*.${authz.identifier.value}` } : authz.identifier,
      token: challenge.token,
      keyAuthorization: `${challenge.token}.${req.account!.value.thumbprint}`,
    },
    {
      http01Port: acme.options.http01Port,
      tlsAlpn01Port: acme.options.tlsAlpn01Port,
      dnsResolver: acme.options.dnsResolver,
      timeoutMs: acme.options.validationTimeoutMs,
    },
  );
  const decided: ChallengeRecord = result.ok
    ? { ...challenge, status: 'valid', validated: result.validatedAt.toISOString() }
    : { ...challenge, status: 'invalid', error: { ...result.problem, status: 403 } };
  authz = { ...authz, status: result.ok ? 'valid' : 'invalid', challenges: authz.challenges.map((c, i) => (i === index ? decided : c)) };
  try {
    await state.updateAuthz(authz, found.version);
  } catch {
    // Another request (or instance) decided this authorization first: answer with what it decided.
    const now = await state.authz(authzId);
    return { authz: now!.value, challenge: now!.value.challenges[index] };
  }
  await advanceOrder(acme, req.ca, authz.orderId);
  return { authz, challenge: decided };
}

/** An authorization of the requesting account. @throws AcmeError 404 / unauthorized. */
export async function ownAuthz(acme: AcmeContext, req: AcmeRequest, authzId: string): Promise<Versioned<AuthzRecord>> {
  const found = await acme.state(req.ca).authz(authzId);
  if (!found) throw new AcmeError('malformed', `no authorization ${authzId}`, { status: 404 });
  if (found.value.ca !== req.ca) throw new AcmeError('malformed', `no authorization ${authzId}`, { status: 404 });
  if (found.value.accountId !== req.account!.value.id) throw new AcmeError('unauthorized', `authorization ${authzId} belongs to another account`);
  return found;
}

/** Moves a pending order to ready when all its authorizations are valid, to invalid when one is invalid. */
export async function advanceOrder(acme: AcmeContext, ca: string, orderId: string): Promise<Versioned<OrderRecord> | undefined> {
  const state = acme.state(ca);
  for (let attempt = 0; attempt < 3; attempt++) {
    const order = await state.order(orderId);
    if (!order || order.value.status !== 'pending') return order;
    const authzs = await Promise.all(order.value.authzIds.map((id) => state.authz(id)));
    const statuses = authzs.map((a) => a?.value.status);
    const next: OrderRecord['status'] | undefined = statuses.some((s) => s !== 'valid' && s !== 'pending')
      ? 'invalid'
      : statuses.every((s) => s === 'valid')
        ? 'ready'
        : undefined;
    if (!next) return order;
    try {
      return await state.updateOrder({ ...order.value, status: next }, order.version);
    } catch {
      // Changed meanwhile (another authorization of the order decided): read it again.
    }
  }
  return state.order(orderId);
}
