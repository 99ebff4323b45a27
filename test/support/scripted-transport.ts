import type { HttpRequest, HttpResponse, HttpTransport } from '../../src/backends/http/transport';
import type { VaultOptions } from '../../src/backends/vault/options';

/**
 * An HttpTransport that answers each request with the next scripted outcome (an Error is thrown)
 * and keeps what was sent: a fake for injecting the faults a real server will not produce on cue.
 */
export function scriptedTransport(outcomes: (Partial<HttpResponse> | Error)[]): HttpTransport & { sent: HttpRequest[] } {
  const t = {
    sent: [] as HttpRequest[],
    async send(r: HttpRequest): Promise<HttpResponse> {
      t.sent.push(r);
      const o = outcomes[t.sent.length - 1];
      if (o instanceof Error) throw o;
      return { status: 200, headers: {}, data: {}, ...o };
    },
  };
  return t;
}

/** Vault options for a client over a scripted transport (token auth, KV at secret/certctl). */
export const SCRIPTED_VAULT_OPTIONS: VaultOptions = {
  address: 'https://vault.example:8200',
  pkiMount: 'pki',
  kvMount: 'secret',
  kvPrefix: 'certctl',
  timeoutMs: 30000,
  auth: { method: 'token', token: 't', origin: 'VAULT_TOKEN' },
};
