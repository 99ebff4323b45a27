// zod/mini: the same validator, tree-shakeable to ~30 KB; the full build would be ~600 KB
// of start-up parsing on every command.
import * as z from 'zod/mini';
import { CA_NAME_PATTERN, CA_NAME_RULE } from '../names';
import { KEY_TYPES } from '../types';

const duration = z.string().check(z.regex(/^\d+\s*[smhdwy]$/i, 'expected a duration like 398d, 10y or 12h'));

/** Per-profile policy as written in certctl.yaml. */
const nonEmpty = z.string().check(z.minLength(1, 'expected a non-empty string'));
const httpUrl = z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' });

/** Extended key usages a profile may name; any other purpose is written as its dotted OID. */
export const EXT_KEY_USAGE_NAMES = ['serverAuth', 'clientAuth', 'codeSigning', 'emailProtection', 'OCSPSigning', 'timeStamping'] as const;
/** Key usages a leaf profile may name (keyCertSign and cRLSign are for CAs: `certctl init`). */
export const LEAF_KEY_USAGE_NAMES = ['digitalSignature', 'contentCommitment', 'keyEncipherment', 'dataEncipherment', 'keyAgreement'] as const;
/** A custom profile's name: what `issue <profile>` and `sign --profile` take. */
export const PROFILE_NAME_PATTERN = /^[a-z][a-z0-9-]{0,62}$/;

const extKeyUsage = z
  .string()
  .check(
    z.refine(
      (v) => (EXT_KEY_USAGE_NAMES as readonly string[]).includes(v) || /^[0-2](\.(0|[1-9]\d*))+$/.test(v),
      `expected one of ${EXT_KEY_USAGE_NAMES.join(', ')} or a dotted OID like 1.3.6.1.5.5.7.3.17`,
    ),
  );
const values = z.optional(z.array(nonEmpty));
const patterns = z.optional(z.array(nonEmpty).check(z.minLength(1, 'expected at least one pattern')));

export const profileSchema = z.strictObject({
  /** A built-in leaf profile this one starts from (custom profiles only). */
  base: z.optional(z.enum(['server', 'client', 'peer', 'node'])),
  extended_key_usage: z.optional(z.array(extKeyUsage).check(z.minLength(1, 'expected at least one extended key usage'))),
  key_usage: z.optional(z.array(z.enum(LEAF_KEY_USAGE_NAMES)).check(z.minLength(1, 'expected at least one key usage'))),
  require_san: z.optional(z.boolean()),
  max_ttl: z.optional(duration),
  default_ttl: z.optional(duration),
  allowed_dns: z.optional(z.array(nonEmpty)),
  allowed_ips: z.optional(z.array(nonEmpty)),
  allowed_uris: patterns,
  allowed_emails: patterns,
  allowed_key_types: z.optional(z.array(z.enum(KEY_TYPES)).check(z.minLength(1, 'expected at least one key type'))),
  key_type: z.optional(z.enum(KEY_TYPES)),
  allowed_countries: patterns,
  allowed_states: patterns,
  allowed_localities: patterns,
  allowed_organizations: patterns,
  allowed_organizational_units: patterns,
  allowed_serial_numbers: patterns,
  country: values,
  state: values,
  locality: values,
  organization: values,
  organizational_unit: values,
  serial_number: values,
});
export type ProfileConfig = z.infer<typeof profileSchema>;

/**
 * The core's keys at the top level of certctl.yaml. Backend sections (`file:`, `vault:`, …) are
 * not named here: each backend parses its own with its own schema (smallstep's `cas/apiv1`
 * style), and the loader takes the list of sections from the backend registry, so adding a
 * backend never touches the core.
 */
const coreConfigShape = {
  backend: z.optional(nonEmpty),
  signer: z.optional(nonEmpty),
  store: z.optional(nonEmpty),
  ca: z.optional(z.string().check(z.regex(CA_NAME_PATTERN, `expected a CA name of ${CA_NAME_RULE}`))),
  /** The built-in profiles' policy, and custom profiles (`base:` a built-in, or from scratch). */
  profiles: z.optional(
    z.record(z.string().check(z.regex(PROFILE_NAME_PATTERN, 'expected a profile name of lower-case letters, digits and hyphens')), profileSchema),
  ),
  /** URLs embedded in issued certificates so relying parties can fetch the CRL and the issuer. */
  urls: z.optional(z.strictObject({ crl: z.optional(z.array(httpUrl)), issuing_ca: z.optional(z.array(httpUrl)), ocsp: z.optional(z.array(httpUrl)) })),
  crl: z.optional(z.strictObject({ validity: z.optional(duration) })),
};

/** The core keys; unknown keys are stripped here and checked by the loader against the backend sections. */
export const configSchema = z.object(coreConfigShape);

/** certctl.yaml's core keys after validation. */
export type ConfigFile = z.infer<typeof configSchema>;

/** The top-level keys the core owns. */
export const CORE_KEYS: readonly string[] = Object.keys(coreConfigShape);

/** Formats zod issues as `path.to.key: what was expected` lines. */
export function describeIssues(issues: readonly z.core.$ZodIssue[], prefix = ''): string {
  return issues
    .map((issue) => {
      const path = [prefix, ...issue.path.map(String)].filter(Boolean).join('.') || '(top level)';
      if (issue.code === 'unrecognized_keys') {
        return `${path}: unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
      }
      if (issue.code === 'invalid_key') return `${path}: ${issue.issues.map((inner) => inner.message).join('; ')}`;
      if (issue.code === 'invalid_value') return `${path}: expected one of ${issue.values.map(String).join(', ')}`;
      if (issue.code === 'invalid_type')
        return `${path}: expected ${issue.expected === 'object' ? 'a mapping' : issue.expected === 'array' ? 'a list' : `a ${issue.expected}`}`;
      return `${path}: ${issue.message}`;
    })
    .join('; ');
}
