import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { checkNames, normaliseIp } from '../core/policy/check';
import { chainNameConstraints, checkNameConstraints } from '../core/policy/name-constraints';
import { leafProfile } from '../core/policy/profiles';
import type { AcmeContext, AcmeRequest } from './context';
import { AcmeError, toAcmeError } from './problems';
import { parseCertId } from './renewal-info';
import type { AuthzRecord, ChallengeRecord, Identifier, OrderRecord } from './records';
import { newId } from './state';

/** How long a new authorization stays pending. */
const AUTHZ_LIFETIME_MS = 24 * 3600_000;

interface NewOrderPayload {
  identifiers?: unknown;
  notBefore?: unknown;
  notAfter?: unknown;
  profile?: unknown;
  replaces?: unknown;
}

/**
 * newOrder (RFC 8555 §7.4, RFC 9773 `replaces`, ACME profiles): identifiers checked against the
 * profile's policy and the CA's name constraints before any challenge is offered, then the order
 * and one authorization per identifier stored.
 * @throws AcmeError malformed, rejectedIdentifier, unsupportedIdentifier, invalidProfile, rateLimited, alreadyReplaced.
 */
export async function createOrder(acme: AcmeContext, req: AcmeRequest): Promise<OrderRecord> {
  const account = req.account!.value;
  const body = (req.payload ?? {}) as NewOrderPayload;
  if (body.notBefore !== undefined || body.notAfter !== undefined) {
    throw new AcmeError('malformed', 'certctl does not take notBefore/notAfter; choose an ACME profile (directory meta.profiles) for the lifetime');
  }
  const identifiers = parseIdentifiers(body.identifiers);
  const profileName = typeof body.profile === 'string' ? body.profile : acme.options.defaultProfile;
  const profile = acme.options.profiles.get(profileName);
  if (!profile)
    throw new AcmeError('invalidProfile', `no ACME profile "${profileName}"; this directory offers ${[...acme.options.profiles.keys()].join(', ')}`);
  await checkPolicy(acme, req.ca, profile.profile, identifiers);
  const replaces = body.replaces === undefined ? undefined : await checkReplaces(acme, req, body.replaces);
  acme.limits.take(`order:${account.id}`, acme.options.ordersPerAccountPerHour, 3600_000, 'new orders of this account');

  const now = new Date();
  const orderId = newId();
  const authzs: AuthzRecord[] = identifiers.map((identifier) => {
    const wildcard = identifier.type === 'dns' && identifier.value.startsWith('*.');
    return {
      id: newId(),
      ca: req.ca,
      accountId: account.id,
      orderId,
      identifier: wildcard ? { type: 'dns', value: identifier.value.slice(2) } : identifier,
      wildcard,
      status: 'pending',
      expires: new Date(now.getTime() + AUTHZ_LIFETIME_MS).toISOString(),
      challenges: challengesFor(identifier, wildcard),
    };
  });
  const order: OrderRecord = {
    id: orderId,
    ca: req.ca,
    accountId: account.id,
    status: 'pending',
    identifiers,
    authzIds: authzs.map((a) => a.id),
    expires: new Date(now.getTime() + Math.min(acme.options.orderLifetimeSeconds * 1000, AUTHZ_LIFETIME_MS)).toISOString(),
    profile: profileName,
    ...(replaces ? { replaces } : {}),
    createdAt: now.toISOString(),
  };
  await acme.state(req.ca).createOrder(order, authzs);
  return order;
}

function challengesFor(identifier: Identifier, wildcard: boolean): ChallengeRecord[] {
  const types: ChallengeRecord['type'][] = wildcard ? ['dns-01'] : identifier.type === 'ip' ? ['http-01', 'tls-alpn-01'] : ['http-01', 'tls-alpn-01', 'dns-01'];
  return types.map((type) => ({ type, token: randomBytes(32).toString('base64url'), status: 'pending' }));
}

/** The order's identifiers, normalized (DNS names lower case), at most 100, no duplicates. */
export function parseIdentifiers(raw: unknown): Identifier[] {
  if (!Array.isArray(raw) || raw.length === 0) throw new AcmeError('malformed', 'identifiers must be a non-empty list');
  if (raw.length > 100) throw new AcmeError('rejectedIdentifier', `an order names at most 100 identifiers, not ${raw.length}`);
  const out: Identifier[] = [];
  for (const item of raw as { type?: unknown; value?: unknown }[]) {
    if (!item || typeof item.value !== 'string' || item.value.length === 0) throw new AcmeError('malformed', 'each identifier needs a type and a value');
    if (item.type !== 'dns' && item.type !== 'ip')
      throw new AcmeError('unsupportedIdentifier', `identifier type "${String(item.type)}" is not supported; use dns or ip`);
    if (item.type === 'ip' && isIP(item.value) === 0) throw new AcmeError('malformed', `"${item.value}" is not an IP address`);
    // IP identifiers in their canonical text (RFC 5952), as the CSR's SAN will read.
    const value = item.type === 'dns' ? item.value.toLowerCase().replace(/\.$/, '') : normaliseIp(item.value);
    if (!out.some((o) => o.type === item.type && o.value === value)) out.push({ type: item.type, value });
  }
  return out;
}

/**
 * The profile's policy and the CA chain's name constraints, before any challenge.
 * @throws AcmeError rejectedIdentifier naming the identifier and the rule.
 */
async function checkPolicy(acme: AcmeContext, ca: string, profileName: string, identifiers: Identifier[]): Promise<void> {
  const service = acme.server.services.service(ca);
  try {
    const profile = leafProfile(acme.server.services.configuration.profiles, profileName, 'acme.profiles');
    const record = await service.requireCa();
    const dns = identifiers.filter((i) => i.type === 'dns').map((i) => i.value);
    const ips = identifiers.filter((i) => i.type === 'ip').map((i) => i.value);
    const checked = checkNames(profile, '', dns, ips, 'order');
    checkNameConstraints(chainNameConstraints(record), checked);
  } catch (err) {
    const e = toAcmeError(err, 'rejectedIdentifier');
    throw e.acmeType === 'malformed' && e.status === 400 ? new AcmeError('rejectedIdentifier', e.message, { cause: err }) : e;
  }
}

/**
 * RFC 9773 `replaces`: a certificate of this CA ordered by this account and not replaced yet.
 * @throws AcmeError malformed for a bad certID; unauthorized for another account's; alreadyReplaced.
 */
async function checkReplaces(acme: AcmeContext, req: AcmeRequest, raw: unknown): Promise<string> {
  if (typeof raw !== 'string') throw new AcmeError('malformed', 'replaces must be a certID string');
  const { serial } = await parseCertId(acme, req.ca, raw);
  const issued = await acme.state(req.ca).issued(req.ca, serial);
  if (!issued || issued.value.accountId !== req.account!.value.id)
    throw new AcmeError('unauthorized', `replaces: certificate ${serial} was not ordered by this account`);
  if (issued.value.replacedBy)
    throw new AcmeError('alreadyReplaced', `certificate ${serial} was already replaced by order ${issued.value.replacedBy}`, { status: 409 });
  return raw;
}
