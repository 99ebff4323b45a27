import { isIP } from 'node:net';
import { PolicyError } from '../core/errors';
import type { AuthorizedNames } from '../core/issuance-service';
import { dnsMatches } from '../core/policy/check';
import { globMatches } from '../core/policy/subject-policy';
import type { Role, ServeOptions } from './config';
import type { CertIdentity } from './identity';

/** Who is calling, and with which roles: what every authorization decision starts from. */
export interface Principal {
  /** How the caller proved itself. */
  kind: 'certificate' | 'keystone' | 'token';
  /** For logs and audit events: the certificate's serial, the Keystone user id, the token id — never a secret. */
  id: string;
  roles: Role[];
  /** The Keystone project (id) a Keystone token is scoped to. */
  project?: string;
  /** The mTLS certificate, when the caller presented one this CA issued. */
  certificate?: CertIdentity;
  /** Called once a signing request is permitted, just before it is signed: a one-time token is used up here. */
  onSign?: (names: AuthorizedNames) => Promise<void>;
  /** The CA and profile a request of this caller gets when it names none (an enrollment token's). */
  bound?: { ca: string; profile: string };
}

/**
 * The roles serve.clients gives an mTLS client certificate (every field of an entry must match):
 * only to certificates made for clients (clientAuth EKU) — a server certificate still renews itself,
 * but holds no role.
 */
export function rolesOfCertificate(options: ServeOptions, identity: CertIdentity): Role[] {
  const roles: Role[] = [];
  if (!identity.clientAuth) return roles;
  for (const c of options.clients) {
    const match =
      (c.cn === undefined || globMatches(c.cn, identity.cn)) &&
      (c.ou === undefined || identity.ou.some((v) => globMatches(c.ou as string, v))) &&
      (c.o === undefined || identity.o.some((v) => globMatches(c.o as string, v)));
    if (match && !roles.includes(c.role)) roles.push(c.role);
  }
  return roles;
}

/** Whether a principal holds an admin role. */
export function isAdmin(principal: Principal | undefined): boolean {
  return Boolean(principal?.roles.some((r) => r.admin));
}

/**
 * Refuses a non-admin.
 * @throws PolicyError (403) naming what the caller lacks.
 */
export function requireAdmin(principal: Principal, what: string): void {
  if (!isAdmin(principal)) throw new PolicyError(`${what} needs an admin role (serve.roles.<name>.admin: true); ${describe(principal)} has none`);
}

/**
 * The permission check of a signing request, after the profile's policy: an admin may sign
 * anything the policy allows; any other role must list the profile and cover every name. Then the
 * principal's own `onSign` (a one-time token is spent only by a request that passed every check).
 * @throws PolicyError (403) naming the first name or the profile no role of the caller allows; what `onSign` throws.
 */
export async function authorizeSigning(principal: Principal, names: AuthorizedNames, options: ServeOptions): Promise<void> {
  // A token holds no role: what it may sign is its grant, which its onSign checks before spending it.
  if (principal.kind !== 'token') checkRoles(principal, names, options);
  await principal.onSign?.(names);
}

function checkRoles(principal: Principal, names: AuthorizedNames, options: ServeOptions): void {
  if (isAdmin(principal)) return;
  checkGuardedSubject(principal, names, options);
  const roles = principal.roles.filter((r) => r.profiles.includes(names.profile) && r.cas.includes(names.ca));
  if (roles.length === 0) {
    throw new PolicyError(
      `${describe(principal)} may not sign for profile ${names.profile} of CA "${names.ca}" (roles: ${principal.roles.map((r) => r.name).join(', ') || 'none'}; serve.roles.*.profiles and cas)`,
    );
  }
  const requested = [names.commonName, ...names.dnsNames, ...names.ipAddresses, ...names.uris, ...names.emails].filter(Boolean);
  for (const name of requested) {
    if (!roles.some((r) => r.names.some((pattern) => nameMatches(pattern, name)))) {
      throw new PolicyError(
        `${describe(principal)} may not sign for "${name}": no role of it for profile ${names.profile} allows that name (serve.roles.*.names)`,
      );
    }
  }
}

/**
 * A non-admin may not ask for a subject O or OU that serve.clients gives roles by: else a node could
 * sign itself a certificate with `OU=ops` and hold the ops role.
 * @throws PolicyError naming the attribute.
 */
function checkGuardedSubject(principal: Principal, names: AuthorizedNames, options: ServeOptions): void {
  const guarded: [string, string[], (string | undefined)[]][] = [
    ['OU', names.subject.OU ?? [], options.clients.map((c) => c.ou)],
    ['O', names.subject.O ?? [], options.clients.map((c) => c.o)],
  ];
  for (const [type, values, patterns] of guarded) {
    const value = values.find((v) => patterns.some((p) => p !== undefined && globMatches(p, v)));
    if (value !== undefined) {
      throw new PolicyError(`${describe(principal)} may not ask for ${type}=${value}: serve.clients gives roles by that ${type}, so only an admin may sign it`);
    }
  }
}

/** A DNS-shaped pattern (one with letters) matches DNS names only, as TLS wildcards do (`*` is one label); other patterns (IPs, URIs, emails) are `*` globs. */
function nameMatches(pattern: string, name: string): boolean {
  const dnsShaped = (text: string) => isIP(text) === 0 && /^[a-z0-9*][a-z0-9*.-]*$/i.test(text) && /[a-z]/i.test(text);
  if (dnsShaped(pattern)) return dnsShaped(name) && dnsMatches(pattern.toLowerCase(), name.toLowerCase());
  return globMatches(pattern, name);
}

function describe(p: Principal): string {
  return `the caller (${p.kind} ${p.id})`;
}
