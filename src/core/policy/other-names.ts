import { ipFamily } from '../ip';
import { InvalidInputError, PolicyError } from '../errors';
import { normaliseDnsName, normaliseIp } from './check';
import { isValidDnsName, type Profile } from './profiles';
import { globMatches } from './subject-policy';

/** URI and email SANs after validation and normalisation, ready for the certificate. */
export interface CheckedOtherNames {
  uris: string[];
  emails: string[];
}

// RFC 3986 scheme, then `//authority` (RFC 5280 4.2.1.6: a URI SAN is absolute and names a host).
const URI_SHAPE = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#@]*@)?(\[[^\]]+\]|[^/?#:]*)(:\d+)?([/?#][\x21-\x7e]*)?$/;
// RFC 5321 dot-atom local part (what mail systems and Python's cryptography accept), then a host name.
const EMAIL_SHAPE = /^([A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*)@([^@]+)$/;

/**
 * A URI SAN as certctl writes it: scheme and host in lower case (they are case-insensitive, and SPIFFE
 * requires lower case), the rest as given.
 * @throws InvalidInputError for a relative URI, one without a host, or one with spaces or non-ASCII characters.
 */
export function normaliseUri(raw: string, source: string): string {
  const m = URI_SHAPE.exec(raw.trim());
  const host = m?.[3] ?? '';
  const hostOk = host.startsWith('[') ? ipFamily(host.slice(1, -1)) === 6 : ipFamily(host) === 4 || isValidDnsName(normaliseDnsName(host), false);
  if (!m || !hostOk) {
    throw new InvalidInputError(
      `${source}: URI "${raw}" is not an absolute URI naming a host (scheme://host/path in ASCII, e.g. spiffe://prod.example/ns/web/sa/api)`,
    );
  }
  const hostText = host.startsWith('[') ? `[${normaliseIp(host.slice(1, -1))}]` : normaliseDnsName(host);
  return `${m[1].toLowerCase()}://${m[2] ?? ''}${hostText}${m[4] ?? ''}${m[5] ?? ''}`;
}

/**
 * An email SAN as certctl writes it: the domain in lower case, the local part as given.
 * @throws InvalidInputError for anything but local@host.name in ASCII.
 */
export function normaliseEmail(raw: string, source: string): string {
  const m = EMAIL_SHAPE.exec(raw.trim());
  const domain = m ? normaliseDnsName(m[2]) : '';
  if (!m || m[1].length > 64 || !isValidDnsName(domain, false)) {
    throw new InvalidInputError(`${source}: email address "${raw}" is not local-part@host.name in ASCII (e.g. ops@example.com)`);
  }
  return `${m[1]}@${domain}`;
}

/**
 * Validates URI and email SANs and checks them against `profiles.<name>.allowed_uris` and
 * `allowed_emails` (`*` matches any run of characters). A profile that lists no patterns for a kind
 * takes no names of that kind: they are new to certctl, so a profile opts in.
 * @throws InvalidInputError for a malformed name; PolicyError naming the name and the profile key.
 */
export function checkOtherNames(profile: Profile, uris: string[], emails: string[], source: string): CheckedOtherNames {
  const out: CheckedOtherNames = { uris: [], emails: [] };
  const check = (kind: 'URI' | 'email address', value: string, allowed: string[] | undefined, key: string) => {
    const path = `profiles.${profile.name}.${key}`;
    if (!allowed) throw new PolicyError(`${source}: profile ${profile.name} takes no ${kind} SANs ("${value}"); allow patterns with ${path} in certctl.yaml`);
    if (!allowed.some((pattern) => globMatches(pattern, value))) {
      throw new PolicyError(`${source}: ${kind} "${value}" is not allowed by ${path} (${allowed.join(', ')})`);
    }
  };
  for (const raw of uris) {
    const uri = normaliseUri(raw, source);
    check('URI', uri, profile.allowedUris, 'allowed_uris');
    if (!out.uris.includes(uri)) out.uris.push(uri);
  }
  for (const raw of emails) {
    const email = normaliseEmail(raw, source);
    check('email address', email, profile.allowedEmails, 'allowed_emails');
    if (!out.emails.includes(email)) out.emails.push(email);
  }
  return out;
}
