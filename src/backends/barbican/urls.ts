// URLs of Barbican's v1 API and Keystone's v3 API (gophercloud keymanager/v1 style: URLs,
// request bodies and response parsing live apart, so each can be read and tested alone).

/** A page of a list: Barbican caps `limit` at 100. */
export interface ListQuery {
  name?: string;
  secretType?: string;
  offset: number;
  limit: number;
}

const query = (q: ListQuery, sort?: string): string => {
  const p = new URLSearchParams();
  p.set('limit', String(q.limit));
  p.set('offset', String(q.offset));
  if (q.name !== undefined) p.set('name', q.name);
  if (q.secretType !== undefined) p.set('secret_type', q.secretType);
  if (sort) p.set('sort', sort);
  return p.toString();
};

export const barbicanUrls = {
  /** POST a new secret. */
  secrets: (endpoint: string) => `${endpoint}/v1/secrets`,
  /** One page of secrets, oldest first so pages stay stable while others append. */
  secretList: (endpoint: string, q: ListQuery) => `${endpoint}/v1/secrets?${query(q, 'created:asc')}`,
  secret: (endpoint: string, id: string) => `${endpoint}/v1/secrets/${encodeURIComponent(id)}`,
  secretPayload: (endpoint: string, id: string) => `${endpoint}/v1/secrets/${encodeURIComponent(id)}/payload`,
  containers: (endpoint: string) => `${endpoint}/v1/containers`,
  /** Containers are listed by creation date by Barbican itself; `sort` is not accepted there. */
  containerList: (endpoint: string, q: ListQuery) => `${endpoint}/v1/containers?${query({ ...q, secretType: undefined })}`,
  container: (endpoint: string, id: string) => `${endpoint}/v1/containers/${encodeURIComponent(id)}`,
};

export const keystoneUrls = {
  tokens: (authUrl: string) => `${authUrl}/auth/tokens`,
  catalog: (authUrl: string) => `${authUrl}/auth/catalog`,
};

/**
 * Offset of the next page from Barbican's `next` link. Barbican 15 builds `next` from limit and
 * offset only and drops every filter (barbican/common/hrefs.py), so certctl takes the offset from
 * it and re-applies its own filters rather than fetching the link as is.
 */
export function nextOffset(next: string | undefined): number | undefined {
  if (!next) return undefined;
  const offset = Number(new URL(next, 'http://x').searchParams.get('offset'));
  return Number.isInteger(offset) && offset > 0 ? offset : undefined;
}
