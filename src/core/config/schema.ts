import { z } from 'zod';
import { KEY_TYPES } from '../types';

const duration = z.string().regex(/^\d+\s*[smhdwy]$/i, { message: 'expected a duration like 398d, 10y or 12h' });

/** Per-profile policy as written in certctl.yaml. */
export const profileSchema = z.strictObject({
  max_ttl: duration.optional(),
  default_ttl: duration.optional(),
  allowed_dns: z.array(z.string().min(1)).optional(),
  allowed_ips: z.array(z.string().min(1)).optional(),
  allowed_key_types: z.array(z.enum(KEY_TYPES)).min(1).optional(),
  key_type: z.enum(KEY_TYPES).optional(),
});
export type ProfileConfig = z.infer<typeof profileSchema>;

/**
 * The top level of certctl.yaml. Backend sections stay opaque here: each backend
 * parses its own options with its own schema (smallstep's `cas/apiv1` style), so
 * adding a backend never touches the core.
 */
export const configSchema = z.strictObject({
  backend: z.string().min(1).optional(),
  signer: z.string().min(1).optional(),
  store: z.string().min(1).optional(),
  ca: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, { message: 'expected a CA name of letters, digits, ".", "_" or "-"' })
    .optional(),
  file: z.unknown().optional(),
  vault: z.unknown().optional(),
  barbican: z.unknown().optional(),
  profiles: z
    .strictObject({
      server: profileSchema.optional(),
      client: profileSchema.optional(),
      peer: profileSchema.optional(),
      node: profileSchema.optional(),
      intermediate: profileSchema.optional(),
    })
    .optional(),
  /** URLs embedded in issued certificates so relying parties can fetch the CRL and the issuer. */
  urls: z
    .strictObject({
      crl: z.array(z.url({ protocol: /^https?$/ })).optional(),
      issuing_ca: z.array(z.url({ protocol: /^https?$/ })).optional(),
    })
    .optional(),
  crl: z.strictObject({ validity: duration.optional() }).optional(),
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
      return `${path}: ${issue.message}`;
    })
    .join('; ');
}
