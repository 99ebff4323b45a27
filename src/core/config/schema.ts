// zod/mini: the same validator, tree-shakeable to ~30 KB; the full build would be ~600 KB
// of start-up parsing on every command.
import * as z from 'zod/mini';
import { CA_NAME_PATTERN, CA_NAME_RULE } from '../names';
import { KEY_TYPES } from '../types';

const duration = z.string().check(z.regex(/^\d+\s*[smhdwy]$/i, 'expected a duration like 398d, 10y or 12h'));

/** Per-profile policy as written in certctl.yaml. */
const nonEmpty = z.string().check(z.minLength(1, 'expected a non-empty string'));
const httpUrl = z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' });

export const profileSchema = z.strictObject({
  max_ttl: z.optional(duration),
  default_ttl: z.optional(duration),
  allowed_dns: z.optional(z.array(nonEmpty)),
  allowed_ips: z.optional(z.array(nonEmpty)),
  allowed_key_types: z.optional(z.array(z.enum(KEY_TYPES)).check(z.minLength(1, 'expected at least one key type'))),
  key_type: z.optional(z.enum(KEY_TYPES)),
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
  profiles: z.optional(
    z.strictObject({
      server: z.optional(profileSchema),
      client: z.optional(profileSchema),
      peer: z.optional(profileSchema),
      node: z.optional(profileSchema),
      intermediate: z.optional(profileSchema),
    }),
  ),
  /** URLs embedded in issued certificates so relying parties can fetch the CRL and the issuer. */
  urls: z.optional(z.strictObject({ crl: z.optional(z.array(httpUrl)), issuing_ca: z.optional(z.array(httpUrl)) })),
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
      if (issue.code === 'invalid_value') return `${path}: expected one of ${issue.values.map(String).join(', ')}`;
      if (issue.code === 'invalid_type')
        return `${path}: expected ${issue.expected === 'object' ? 'a mapping' : issue.expected === 'array' ? 'a list' : `a ${issue.expected}`}`;
      return `${path}: ${issue.message}`;
    })
    .join('; ');
}
