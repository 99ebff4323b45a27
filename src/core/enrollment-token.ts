import { createHash, randomBytes } from 'node:crypto';
import { keepsAudit, keepsState, type CertStore, type StateStore } from './cert-store';
import { InvalidInputError, NotSupportedError, PolicyError, UnauthorizedError } from './errors';
import type { AuthorizedNames } from './issuance-service';
import { checkNames } from './policy/check';
import type { Profile } from './policy/profiles';
import { checkSubject } from './policy/subject-policy';
import { isExpired, type StateRecord } from './state-store';
import type { SubjectAttributes } from './x509/subject';

/**
 * Enrollment tokens (`certctl token create`, redeemed by `certctl enroll` through `certctl serve`):
 * a one-time credential for a node that has no certificate yet, bound to one CA, one profile and
 * the names it was created for.
 *
 * A token is `certctl1.<grant>.<secret>`: the grant (base64url JSON: CA, profile, names, expiry)
 * lets the node build its CSR and find the CA without asking anyone; the secret is 256 random
 * bits. The store keeps only the SHA-256 of the whole token (its id) with the grant, in the
 * StateStore namespace {@link ENROLLMENT_TOKENS}: the server trusts the stored grant, never the
 * one in the token (a changed grant is a different hash, an unknown token). The token itself is
 * printed once and never written, logged or put in a message; logs and audit events name it by
 * the first 16 hex digits of its id.
 */

/** The StateStore namespace of enrollment tokens. */
export const ENROLLMENT_TOKENS = 'enroll-tokens';
const PREFIX = 'certctl1';

/** What a token allows: one certificate from `ca`, of `profile`, for at most these names, until `expiresAt`. */
export interface EnrollmentGrant {
  ca: string;
  profile: string;
  /** The subject CN the certificate must have ('' for none). */
  commonName: string;
  dnsNames: string[];
  ipAddresses: string[];
  /** Subject attributes the profile writes itself (its fixed values at creation); a request may ask for no others. */
  subject: SubjectAttributes;
  expiresAt: string;
}

/** What the store keeps of a token (never the token). */
interface TokenRecord {
  grant: EnrollmentGrant;
  createdAt: string;
}

/** What `token create` asks for. */
export interface TokenRequest {
  ca: string;
  profile: Profile;
  commonName: string;
  dnsNames: string[];
  ipAddresses: string[];
  ttlSeconds: number;
}

/**
 * The store as the StateStore tokens live in.
 * @throws NotSupportedError when the store cannot make one-time use atomic across server instances (Barbican: no compare-and-set).
 */
export function tokenStore(store: CertStore): StateStore {
  if (keepsState(store)) return store;
  throw new NotSupportedError(
    `enrollment tokens are not available over the ${store.kind} store: one-time use needs a store with atomic compare-and-set across server instances (file, vault); use mTLS client certificates (or Keystone tokens) there`,
  );
}

/** The hash the store keeps a token under. */
export function tokenId(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** How logs, errors and audit events name a token: the start of its id (a hash, not the secret). */
export function tokenLabel(id: string): string {
  return `token ${id.slice(0, 16)}`;
}

/**
 * Makes a token for the request's names (checked and normalised by the profile's policy, as a
 * signing request's will be) and stores its hash and grant, expiring after `ttlSeconds`.
 * @throws InvalidInputError / PolicyError for names the profile refuses; ConflictError (never in practice: 256 random bits) when the id exists; the store's errors.
 */
export async function createEnrollmentToken(
  store: StateStore,
  request: TokenRequest,
  now = new Date(),
): Promise<{ token: string; id: string; grant: EnrollmentGrant }> {
  const names = checkNames(request.profile, request.commonName, request.dnsNames, request.ipAddresses, 'token create');
  if (!names.commonName && names.dnsNames.length === 0 && names.ipAddresses.length === 0) {
    throw new InvalidInputError('token create: give the names the token is for (--cn, --dns, --ip)');
  }
  const { subject } = checkSubject(request.profile.name, request.profile.subject, {}, false, 'token create');
  const expiresAt = new Date(now.getTime() + request.ttlSeconds * 1000);
  const grant: EnrollmentGrant = { ca: request.ca, profile: request.profile.name, ...names, subject, expiresAt: expiresAt.toISOString() };
  const token = `${PREFIX}.${Buffer.from(JSON.stringify(grant)).toString('base64url')}.${randomBytes(32).toString('base64url')}`;
  const id = tokenId(token);
  await store.createState<TokenRecord>(ENROLLMENT_TOKENS, id, { grant, createdAt: now.toISOString() }, { expiresAt });
  if (keepsAudit(store)) {
    await store.recordEvent({ at: now.toISOString(), action: 'token.create', ca: request.ca, detail: { token: tokenLabel(id), ...grant } });
  }
  return { token, id, grant };
}

/**
 * The grant a token carries, for the node (`certctl enroll`): what to put in its CSR and which CA
 * to pin. Not trusted by the server. The message never repeats the token.
 * @throws InvalidInputError when the text is not a certctl enrollment token.
 */
export function readGrant(token: string): EnrollmentGrant {
  const parts = token.trim().split('.');
  const malformed = new InvalidInputError(`the enrollment token is not one \`certctl token create\` printed (certctl1.<grant>.<secret>); was it copied whole?`);
  if (parts.length !== 3 || parts[0] !== PREFIX || !/^[A-Za-z0-9_-]{43}$/.test(parts[2])) throw malformed;
  let grant: Partial<EnrollmentGrant>;
  try {
    grant = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as Partial<EnrollmentGrant>;
  } catch {
    throw malformed;
  }
  const strings = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === 'string');
  const ok =
    typeof grant.ca === 'string' &&
    typeof grant.profile === 'string' &&
    typeof grant.commonName === 'string' &&
    strings(grant.dnsNames) &&
    strings(grant.ipAddresses) &&
    typeof grant.expiresAt === 'string' &&
    typeof grant.subject === 'object';
  if (!ok) throw malformed;
  return grant as EnrollmentGrant;
}

/**
 * The token a request presents, looked up in the store: its id and the stored grant.
 * @throws UnauthorizedError (naming the token by its label only) for a malformed, unknown, used or expired token.
 */
export async function findEnrollmentToken(store: StateStore, token: string, now = new Date()): Promise<{ id: string; grant: EnrollmentGrant }> {
  try {
    readGrant(token);
  } catch (err) {
    throw new UnauthorizedError('the bearer token is not a certctl enrollment token', { cause: err });
  }
  const id = tokenId(token);
  const record = await store.getState<TokenRecord>(ENROLLMENT_TOKENS, id);
  if (!record) throw refused(id, 'absent');
  if (record.claimedAt) throw refused(id, 'used', record);
  if (isExpired(record, now)) throw refused(id, 'expired', record);
  return { id, grant: record.value.grant };
}

/**
 * Uses the token up, just before its certificate is signed: of concurrent requests with one token,
 * on any server instance over the store, exactly one passes.
 * @throws UnauthorizedError when another request used it first, or it expired or vanished meanwhile.
 */
export async function spendEnrollmentToken(store: StateStore, id: string, now = new Date()): Promise<void> {
  const outcome = await store.claimState<TokenRecord>(ENROLLMENT_TOKENS, id, now);
  if (!outcome.claimed) throw refused(id, outcome.reason, outcome.reason === 'absent' ? undefined : outcome.record);
}

/** Why a token is refused, in the words every refusal uses. */
function refused(id: string, reason: 'absent' | 'used' | 'expired', record?: StateRecord): UnauthorizedError {
  if (reason === 'used')
    return new UnauthorizedError(`${tokenLabel(id)} was already used (at ${record?.claimedAt}); an enrollment token works once — create a new one`);
  if (reason === 'expired') return new UnauthorizedError(`${tokenLabel(id)} expired at ${record?.expiresAt}; create a new one`);
  return new UnauthorizedError(`${tokenLabel(id)} is not known to this CA (never created, or removed after it expired)`);
}

/**
 * Refuses a signing request that asks for more than the grant: another CA or profile, another CN,
 * a DNS name or IP it does not list, any URI or email SAN, a subject attribute the profile does not write itself.
 * @throws PolicyError naming the first thing the token does not allow.
 */
export function checkGrant(id: string, grant: EnrollmentGrant, names: AuthorizedNames): void {
  const refuse = (what: string) => new PolicyError(`${tokenLabel(id)} does not allow ${what}; it was created for ${describeGrant(grant)}`);
  if (names.ca !== grant.ca) throw refuse(`CA "${names.ca}"`);
  if (names.profile !== grant.profile) throw refuse(`profile ${names.profile}`);
  if (names.commonName !== grant.commonName) throw refuse(names.commonName ? `CN "${names.commonName}"` : 'a certificate without its CN');
  const dns = names.dnsNames.find((n) => !grant.dnsNames.includes(n));
  if (dns !== undefined) throw refuse(`DNS name "${dns}"`);
  const ip = names.ipAddresses.find((n) => !grant.ipAddresses.includes(n));
  if (ip !== undefined) throw refuse(`IP address ${ip}`);
  const other = [...names.uris, ...names.emails][0];
  if (other !== undefined) throw refuse(`the URI or email SAN "${other}"`);
  for (const [type, values] of Object.entries(names.subject) as [keyof SubjectAttributes, string[]][]) {
    const extra = values.find((v) => !(grant.subject[type] ?? []).includes(v));
    if (extra !== undefined) throw refuse(`subject ${type}="${extra}"`);
  }
}

/** A grant in words, for messages: `profile server from CA "default" for CN=node7.example, DNS node7.example`. */
export function describeGrant(grant: EnrollmentGrant): string {
  const names = [...(grant.commonName ? [`CN=${grant.commonName}`] : []), ...grant.dnsNames.map((n) => `DNS ${n}`), ...grant.ipAddresses.map((n) => `IP ${n}`)];
  return `profile ${grant.profile} from CA "${grant.ca}" for ${names.join(', ')}`;
}
