import * as z from 'zod/mini';

/** A secret as Barbican lists it (only the fields certctl reads). */
export interface SecretEntity {
  id: string;
  name: string;
  secretType: string;
  created: string;
}

/** A container as Barbican lists it. */
export interface ContainerEntity {
  id: string;
  name: string;
  refs: Record<string, string>;
}

/** One page of a list, and the offset of the next page when there is one. */
export interface Page<T> {
  items: T[];
  total: number;
  next?: string;
}

/** A catalog entry of a Keystone v3 token. */
export interface CatalogEntry {
  type: string;
  endpoints: { interface: string; region?: string; url: string }[];
}

const ref = (key: string) => z.object({ [key]: z.string().check(z.minLength(1)) });
const secret = z.object({
  secret_ref: z.string(),
  name: z.nullish(z.string()),
  secret_type: z.optional(z.string()),
  created: z.optional(z.string()),
});
const container = z.object({
  container_ref: z.string(),
  name: z.nullish(z.string()),
  secret_refs: z.optional(z.array(z.object({ name: z.string(), secret_ref: z.string() }))),
});
const page = <T extends z.ZodMiniType>(key: string, item: T) => z.object({ [key]: z.array(item), total: z.optional(z.number()), next: z.optional(z.string()) });
const token = z.object({
  token: z.object({
    expires_at: z.optional(z.string()),
    project: z.optional(z.object({ id: z.string() })),
    catalog: z.optional(
      z.array(
        z.object({
          type: z.string(),
          endpoints: z.array(z.object({ interface: z.string(), region: z.nullish(z.string()), url: z.string() })),
        }),
      ),
    ),
  }),
});
const catalog = z.object({
  catalog: z.array(z.object({ type: z.string(), endpoints: z.array(z.object({ interface: z.string(), region: z.nullish(z.string()), url: z.string() })) })),
});

/**
 * A response without the shape the API documents. Never leaves the backend: the client hands
 * it to `describeHttpFailure` (errors.ts), which keeps it as the `cause`.
 */
export class UnexpectedResponseError extends Error {}

/** What an error answer says beyond its status, when Barbican says it only in words. */
export type RefusalReason = 'quota' | 'request-too-large';

/**
 * An HTTP status the call did not expect, with the human part of the body and its reason.
 * Never leaves the backend: the client hands it to `describeHttpFailure` (errors.ts).
 */
export class UnexpectedStatusError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly reason?: RefusalReason,
  ) {
    super(`HTTP ${status}${detail ? `: ${detail}` : ''}`);
  }
}

/**
 * Reads an error answer of Barbican or Keystone. Barbican's error bodies carry no machine code
 * (`{"code", "title", "description"}`, the title being the status's name), so the two refusals
 * that need a different remedy are recognised here, once, by the text Barbican 15 sends:
 * QuotaReached's "Creation not allowed because a quota has been reached" (403, like a policy
 * refusal) and load_body's "Malformed JSON" (400), which is what a body cut off at
 * max_allowed_request_size_in_bytes gets (certctl only sends valid JSON).
 */
export function parseErrorResponse(status: number, data: unknown): UnexpectedStatusError {
  const detail = errorDescription(data);
  const reason = status === 403 && /quota/i.test(detail) ? 'quota' : status === 400 && /malformed json/i.test(detail) ? 'request-too-large' : undefined;
  return new UnexpectedStatusError(status, detail, reason);
}

function parse<T>(schema: z.ZodMiniType<T>, data: unknown, what: string): T {
  const r = schema.safeParse(data);
  if (!r.success)
    throw new UnexpectedResponseError(
      `unexpected ${what} response from the server: ${r.error.issues.map((i) => `${i.path.join('.') || '(body)'} ${i.message}`).join('; ')}`,
    );
  return r.data;
}

const lastSegment = (ref: string) => ref.replace(/\/+$/, '').split('/').pop() ?? '';

/** `{"secret_ref": …}` of POST /v1/secrets → the new secret's id and Barbican's own href of it. */
export function parseSecretCreated(data: unknown): { id: string; ref: string } {
  const href = parse(ref('secret_ref'), data, 'secret creation').secret_ref;
  return { id: lastSegment(href), ref: href };
}

/** `{"container_ref": …}` of POST /v1/containers → the new container's id. */
export function parseContainerCreated(data: unknown): string {
  return lastSegment(parse(ref('container_ref'), data, 'container creation').container_ref);
}

/** A page of GET /v1/secrets. */
export function parseSecretPage(data: unknown): Page<SecretEntity> {
  const p = parse(page('secrets', secret), data, 'secret list') as { secrets: z.infer<typeof secret>[]; total?: number; next?: string };
  return {
    items: p.secrets.map((s) => ({ id: lastSegment(s.secret_ref), name: s.name ?? '', secretType: s.secret_type ?? '', created: s.created ?? '' })),
    total: p.total ?? p.secrets.length,
    next: p.next,
  };
}

/** A page of GET /v1/containers. */
export function parseContainerPage(data: unknown): Page<ContainerEntity> {
  const p = parse(page('containers', container), data, 'container list') as { containers: z.infer<typeof container>[]; total?: number; next?: string };
  return {
    items: p.containers.map((c) => ({
      id: lastSegment(c.container_ref),
      name: c.name ?? '',
      refs: Object.fromEntries((c.secret_refs ?? []).map((r) => [r.name, lastSegment(r.secret_ref)])),
    })),
    total: p.total ?? p.containers.length,
    next: p.next,
  };
}

/** The body of POST /v3/auth/tokens: expiry, project and catalog. */
export function parseToken(data: unknown): { expiresAt?: Date; projectId?: string; catalog: CatalogEntry[] } {
  const t = parse(token, data, 'Keystone token').token;
  return {
    expiresAt: t.expires_at ? new Date(t.expires_at) : undefined,
    projectId: t.project?.id,
    catalog: (t.catalog ?? []).map((e) => ({
      type: e.type,
      endpoints: e.endpoints.map((p) => ({ interface: p.interface, region: p.region ?? undefined, url: p.url })),
    })),
  };
}

/** The body of GET /v3/auth/catalog. */
export function parseCatalog(data: unknown): CatalogEntry[] {
  return parse(catalog, data, 'Keystone catalog').catalog.map((e) => ({
    type: e.type,
    endpoints: e.endpoints.map((p) => ({ interface: p.interface, region: p.region ?? undefined, url: p.url })),
  }));
}

/** The human part of an OpenStack error body (`{"code", "title", "description"}` or `{"error": {"message"}}`). */
function errorDescription(data: unknown): string {
  if (data && typeof data === 'object') {
    const d = data as { description?: unknown; title?: unknown; error?: { message?: unknown } };
    const text = d.description ?? d.error?.message ?? d.title;
    if (typeof text === 'string' && text) return text;
  }
  if (typeof data === 'string' && data && data.length < 300 && !/<html/i.test(data)) return data.trim();
  return '';
}
