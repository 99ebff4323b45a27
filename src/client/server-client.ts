import { createHash, X509Certificate } from 'node:crypto';
import { AxiosTransport, TransportError, type HttpTransport } from '../backends/http/transport';
import { transportFailure } from '../backends/http/errors';
import { BackendAuthError, BackendUnavailableError, InvalidInputError, errorForCode, type CertctlError } from '../core/errors';

/** How a client reaches `certctl serve`: its URL, the CA to trust, and optionally a client certificate (mTLS). */
export interface ServerClientOptions {
  url: string;
  /** PEM of the CA the server's certificate chains to. */
  caPem: string;
  clientCertificate?: { certPem: string; keyPem: string };
  timeoutMs?: number;
  /** What to do when the server's TLS certificate does not verify (the flag that gives the CA). */
  trustHint?: string;
}

/** An issued certificate as the server answers `/v1/sign`, `/v1/renew` and enrollment. */
export interface IssuedAnswer {
  serial: string;
  ca: string;
  profile: string;
  notBefore: string;
  notAfter: string;
  certificate: string;
  chain: string[];
  warnings: string[];
}

/**
 * The client of `certctl serve` used by `certctl enroll` and `certctl agent`: JSON over HTTPS with
 * TLS verified against the server's CA, problem documents turned back into the CLI's error kinds
 * (so `enroll` exits with the code the server's error carries).
 */
export class ServerClient {
  private readonly transport: HttpTransport;
  private readonly base: string;
  private readonly timeoutMs: number;
  private readonly trustHint: string;

  constructor(options: ServerClientOptions, transport?: HttpTransport) {
    this.base = normalizeUrl(options.url);
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.trustHint = options.trustHint ?? 'pass the CA the server was issued by (--ca-fingerprint at enrollment)';
    this.transport = transport ?? new AxiosTransport({ timeoutMs: this.timeoutMs, caPem: options.caPem, clientCertificate: options.clientCertificate });
  }

  /**
   * One JSON request.
   * @throws the error kind of the server's problem `code`; BackendUnavailableError when the server cannot be reached or answers 5xx without a problem.
   */
  async call<T>(method: 'GET' | 'POST', path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    let res;
    try {
      res = await this.transport.send({
        method,
        url: `${this.base}${path}`,
        body,
        headers: { accept: 'application/json', ...headers },
        idempotent: method === 'GET',
      });
    } catch (err) {
      if (!(err instanceof TransportError)) throw err;
      throw transportFailure(err, `certctl serve at ${this.base}`, this.timeoutMs, this.trustHint, '--timeout');
    }
    if (res.status >= 200 && res.status < 300) return res.data as T;
    throw problemError(res.status, res.data, `${method} ${path}`);
  }
}

/** The error a non-2xx answer stands for. */
function problemError(status: number, data: unknown, what: string): CertctlError {
  const problem = typeof data === 'object' && data !== null ? (data as { code?: unknown; detail?: unknown }) : {};
  if (typeof problem.code === 'string' && typeof problem.detail === 'string')
    return errorForCode(problem.code, `the server refused ${what} (${status}): ${problem.detail}`);
  return new BackendUnavailableError(`the server answered ${what} with HTTP ${status} and no problem document; is this a certctl server?`);
}

/** `https://host:port` without a trailing slash. @throws InvalidInputError for anything but an https URL. */
export function normalizeUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidInputError(`--server: "${url}" is not a URL; give https://HOST:PORT`);
  }
  if (parsed.protocol !== 'https:') throw new InvalidInputError(`--server: certctl serve speaks HTTPS only; give https://${parsed.host}`);
  return `${parsed.origin}${parsed.pathname.replace(/\/+$/, '')}`;
}

/** A SHA-256 fingerprint as `openssl x509 -fingerprint -sha256` prints it, or without colons, in any case, normalized to lower-case hex. */
export function normalizeFingerprint(text: string): string {
  const hex = text
    .replace(/^sha256 fingerprint=/i, '')
    .replace(/:/g, '')
    .trim()
    .toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hex))
    throw new InvalidInputError(`--ca-fingerprint: expected a SHA-256 fingerprint (64 hex digits, colons optional), not "${text}"`);
  return hex;
}

/**
 * First contact with a server whose CA the client does not have yet: fetches `/v1/ca` (or
 * `/v1/ca/{ca}`) without trusting anyone, and keeps the answer only if its certificate has the
 * fingerprint the operator gave out of band, and each certificate of its chain signed the one
 * below it. Every later request verifies TLS against that CA, so a server in the middle that
 * answered this one cannot go on.
 * @throws BackendAuthError when the fingerprint differs or the chain does not hold; InvalidInputError for a bad fingerprint.
 */
export async function fetchPinnedCa(
  url: string,
  fingerprint: string,
  options: { ca?: string; transport?: HttpTransport } = {},
): Promise<{ caPem: string; chain: string[] }> {
  const expected = normalizeFingerprint(fingerprint);
  const base = normalizeUrl(url);
  // Verification is off for this one request only: what it returns is checked against the fingerprint below.
  const insecure = options.transport ?? new AxiosTransport({ timeoutMs: 30_000, insecure: true });
  const client = new ServerClient({ url: base, caPem: '' }, insecure);
  const path = options.ca === undefined ? '/v1/ca' : `/v1/ca/${encodeURIComponent(options.ca)}`;
  const answer = await client.call<{ certificate: string; chain: string[] }>('GET', path);
  let certs: X509Certificate[];
  try {
    certs = [answer.certificate, ...answer.chain].map((pem) => new X509Certificate(pem));
  } catch (err) {
    throw new BackendAuthError(`${base}${path} did not return certificates`, { cause: err });
  }
  const actual = createHash('sha256').update(certs[0].raw).digest('hex');
  if (actual !== expected) {
    throw new BackendAuthError(
      `the CA of ${base} has SHA-256 fingerprint ${colons(actual)}, not the ${colons(expected)} you gave; do not enroll against this server until you know why`,
    );
  }
  // The chain is trusted with the CA (TLS from an intermediate needs its root): only as far as each certificate signed the one below.
  const broken = certs.findIndex((c, i) => i > 0 && !(certs[i - 1].checkIssued(c) && certs[i - 1].verify(c.publicKey)));
  if (broken > 0) throw new BackendAuthError(`${base}${path}: certificate ${broken} of the CA's chain did not sign the one below it`);
  return { caPem: answer.certificate, chain: answer.chain };
}

function colons(hex: string): string {
  return hex.toUpperCase().match(/../g)?.join(':') ?? hex;
}
