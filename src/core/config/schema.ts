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
 * The top level of certctl.yaml. Backend sections stay opaque here: each backend
 * parses its own options with its own schema (smallstep's `cas/apiv1` style), so
 * adding a backend never touches the core.
 */
export const configSchema = z.strictObject({
  backend: z.optional(nonEmpty),
  signer: z.optional(nonEmpty),
  store: z.optional(nonEmpty),
  ca: z.optional(z.string().check(z.regex(CA_NAME_PATTERN, `expected a CA name of ${CA_NAME_RULE}`))),
  file: z.optional(z.unknown()),
  vault: z.optional(z.unknown()),
  barbican: z.optional(z.unknown()),
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
});
export type ConfigFile = z.infer<typeof configSchema>;

/** Formats zod issues as `path.to.key: what was expected` lines. */
export function describeIssues(issues: readonly z.core.$ZodIssue[], prefix = ''): string {
  return issues
    .map((issue) => {
      const path = [prefix, ...issue.path.map(String)].filter(Boolean).join('.') || '(top level)';
      if (issue.code === 'unrecognized_keys') {
        return `${path}: unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
      }
      if (issue.code === 'invalid_value') return `${path}: expected one of ${issue.values.map(String).join(', ')}`;
      if (issue.code === 'invalid_type') return `${path}: expected ${issue.expected === 'object' ? 'a mapping' : issue.expected === 'array' ? 'a list' : `a ${issue.expected}`}`;
      return `${path}: ${issue.message}`;
    })
    .join('; ');
}
