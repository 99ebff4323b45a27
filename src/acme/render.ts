import type { AcmeUrls } from './context';
import type { AccountRecord, AuthzRecord, ChallengeRecord, OrderRecord } from './records';

/** The JSON objects of RFC 8555 §7.1, from the stored records. */

export function accountJson(a: AccountRecord): Record<string, unknown> {
  return { status: a.status, contact: a.contact, termsOfServiceAgreed: a.termsOfServiceAgreed, createdAt: a.createdAt, key: a.jwk };
}

/** An order as the client sees it; a pending or ready order past its expiry reads as invalid. */
export function orderJson(o: OrderRecord, urls: AcmeUrls, now = new Date()): Record<string, unknown> {
  const expired = (o.status === 'pending' || o.status === 'ready') && Date.parse(o.expires) <= now.getTime();
  return {
    status: expired ? 'invalid' : o.status,
    expires: o.expires,
    identifiers: o.identifiers,
    ...(o.notBefore ? { notBefore: o.notBefore } : {}),
    ...(o.notAfter ? { notAfter: o.notAfter } : {}),
    authorizations: o.authzIds.map((id) => urls.authz(id)),
    finalize: urls.finalize(o.id),
    profile: o.profile,
    ...(o.replaces ? { replaces: o.replaces } : {}),
    ...(o.serial ? { certificate: urls.certificate(o.serial) } : {}),
    ...(o.error ? { error: o.error } : {}),
  };
}

export function challengeJson(c: ChallengeRecord, authzId: string, urls: AcmeUrls): Record<string, unknown> {
  return {
    type: c.type,
    url: urls.challenge(authzId, c.type),
    status: c.status,
    token: c.token,
    ...(c.validated ? { validated: c.validated } : {}),
    ...(c.error ? { error: c.error } : {}),
  };
}

/** An authorization; a pending one past its expiry reads as expired. */
export function authzJson(a: AuthzRecord, urls: AcmeUrls, now = new Date()): Record<string, unknown> {
  const expired = a.status === 'pending' && Date.parse(a.expires) <= now.getTime();
  return {
    identifier: a.identifier,
    status: expired ? 'expired' : a.status,
    expires: a.expires,
    challenges: a.challenges.map((c) => challengeJson(c, a.id, urls)),
    ...(a.wildcard ? { wildcard: true } : {}),
  };
}
