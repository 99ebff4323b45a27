/**
 * A minimal RFC 8555 client for bench/acme.ts: one account (ES256), then full issuances over
 * http-01 (new order → authorization → challenge → finalize → certificate), each timed from the
 * newOrder request to the certificate's last byte. Not product code, and not a general client:
 * one DNS identifier per order, http-01 only.
 *
 * Why not lego processes: a lego run costs a process start, an account load and its own pacing
 * (5 s before the first poll when the challenge answer has no Retry-After), which would measure
 * lego. Here each client keeps one keep-alive HTTPS connection, reuses the nonces the server hands
 * out, and polls a pending authorization or processing order every POLL_MS whatever Retry-After
 * says, so the figure is the server's: a server that validates within the challenge POST (or
 * issues within finalize) needs no poll at all, and the requests per issuance show it.
 */
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { Agent, request } from 'node:https';
import { performance } from 'node:perf_hooks';

export const POLL_MS = 20;

/** The key authorizations the shared http-01 responder serves, by token. */
export type Http01Answers = Map<string, string>;

/** The stages of an issuance, in order: where its time goes. */
export const STAGES = ['newOrder', 'authorization', 'challenge', 'finalize', 'certificate'] as const;

/** One issuance: newOrder → certificate in milliseconds (and per stage, polls included), and how many requests it took. */
export interface Issuance {
  ms: number;
  stages: Record<(typeof STAGES)[number], number>;
  requests: number;
  polls: number;
}

/** The members of ACME objects (order, authorization, challenge, problem) this client reads. */
interface AcmeBody {
  status?: string;
  authorizations?: string[];
  challenges?: { type: string; url: string; token: string }[];
  finalize?: string;
  certificate?: string;
  type?: string;
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The body parsed as JSON ({} when it is not JSON). */
  body: AcmeBody;
  text: string;
}

const b64u = (data: Buffer | string) => Buffer.from(data).toString('base64url');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class AcmeBenchClient {
  private readonly key: KeyObject;
  private readonly jwk: { kty: string; crv: string; x: string; y: string };
  private readonly thumbprint: string;
  private readonly nonces: string[] = [];
  private readonly agent: Agent;
  private directory: Record<string, string> = {};
  private kid = '';
  requests = 0;

  constructor(
    private readonly directoryUrl: string,
    private readonly ca: string,
    private readonly answers: Http01Answers,
  ) {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.key = privateKey;
    const jwk = publicKey.export({ format: 'jwk' });
    this.jwk = { kty: 'EC', crv: 'P-256', x: String(jwk.x), y: String(jwk.y) };
    // RFC 7638: the required members in lexicographic order.
    this.thumbprint = b64u(
      createHash('sha256')
        .update(JSON.stringify({ crv: this.jwk.crv, kty: this.jwk.kty, x: this.jwk.x, y: this.jwk.y }))
        .digest(),
    );
    this.agent = new Agent({ keepAlive: true, maxSockets: 1, ca });
  }

  /** Reads the directory and registers the account (before any clock starts). */
  async register(): Promise<void> {
    const dir = await this.send('GET', this.directoryUrl);
    if (dir.status !== 200) throw new Error(`directory ${this.directoryUrl} answered ${dir.status}: ${dir.text}`);
    this.directory = JSON.parse(dir.text) as Record<string, string>;
    const account = await this.post(this.directory.newAccount, { termsOfServiceAgreed: true }, true);
    if (account.status !== 201 && account.status !== 200) throw new Error(`newAccount answered ${account.status}: ${account.text}`);
    this.kid = String(account.headers.location);
  }

  close(): void {
    this.agent.destroy();
  }

  /** One full issuance of a certificate for `name` with the CSR `csrDer` (which names it). */
  async issue(name: string, csrDer: Buffer): Promise<Issuance> {
    const before = this.requests;
    let polls = 0;
    const t0 = performance.now();
    const marks = [t0];
    const order = await this.expect(this.post(this.directory.newOrder, { identifiers: [{ type: 'dns', value: name }] }), 201, 'newOrder');
    const orderUrl = String(order.headers.location);
    const authzUrl = String(order.body.authorizations?.[0]);
    marks.push(performance.now());
    const authz = await this.expect(this.post(authzUrl, undefined), 200, 'authorization');
    marks.push(performance.now());
    const challenge = authz.body.challenges?.find((c) => c.type === 'http-01');
    if (!challenge) throw new Error(`no http-01 challenge in ${authz.text}`);
    this.answers.set(challenge.token, `${challenge.token}.${this.thumbprint}`);
    try {
      let last = await this.expect(this.post(challenge.url, {}), 200, 'challenge');
      while (last.body.status !== 'valid') {
        if (last.body.status === 'invalid') throw new Error(`authorization for ${name} invalid: ${last.text}`);
        await sleep(POLL_MS);
        polls++;
        last = await this.expect(this.post(authzUrl, undefined), 200, 'authorization poll');
      }
    } finally {
      this.answers.delete(challenge.token);
    }
    marks.push(performance.now());
    let state = await this.expect(this.post(String(order.body.finalize), { csr: b64u(csrDer) }), 200, 'finalize');
    while (state.body.status !== 'valid') {
      if (state.body.status === 'invalid') throw new Error(`order for ${name} invalid: ${state.text}`);
      await sleep(POLL_MS);
      polls++;
      state = await this.expect(this.post(orderUrl, undefined), 200, 'order poll');
    }
    marks.push(performance.now());
    const cert = await this.expect(this.post(String(state.body.certificate), undefined), 200, 'certificate');
    if (!cert.text.includes('-----BEGIN CERTIFICATE-----')) throw new Error(`certificate download for ${name}: ${cert.text.slice(0, 200)}`);
    marks.push(performance.now());
    const stages = Object.fromEntries(STAGES.map((stage, i) => [stage, marks[i + 1] - marks[i]])) as Issuance['stages'];
    return { ms: marks[marks.length - 1] - t0, stages, requests: this.requests - before, polls };
  }

  private async expect(p: Promise<Answer>, status: number, what: string): Promise<Answer> {
    const a = await p;
    if (a.status !== status) throw new Error(`${what} answered ${a.status}: ${a.text.slice(0, 500)}`);
    return a;
  }

  /** A JWS POST (payload undefined: POST-as-GET), retried once on badNonce. */
  private async post(url: string, payload: unknown, useJwk = false): Promise<Answer> {
    for (let attempt = 0; ; attempt++) {
      const nonce = this.nonces.pop() ?? (await this.freshNonce());
      const header = { alg: 'ES256', nonce, url, ...(useJwk ? { jwk: this.jwk } : { kid: this.kid }) };
      const protectedB64 = b64u(JSON.stringify(header));
      const payloadB64 = payload === undefined ? '' : b64u(JSON.stringify(payload));
      const signature = sign('sha256', Buffer.from(`${protectedB64}.${payloadB64}`), { key: this.key, dsaEncoding: 'ieee-p1363' });
      const body = JSON.stringify({ protected: protectedB64, payload: payloadB64, signature: b64u(signature) });
      const a = await this.send('POST', url, body);
      if (a.status === 400 && a.body.type === 'urn:ietf:params:acme:error:badNonce' && attempt === 0) continue;
      return a;
    }
  }

  private async freshNonce(): Promise<string> {
    const a = await this.send('HEAD', this.directory.newNonce);
    const nonce = this.nonces.pop();
    if (!nonce) throw new Error(`newNonce answered ${a.status} without Replay-Nonce`);
    return nonce;
  }

  private send(method: string, url: string, body?: string): Promise<Answer> {
    this.requests++;
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { 'user-agent': 'certctl-acme-bench' };
      if (body !== undefined) Object.assign(headers, { 'content-type': 'application/jose+json', 'content-length': String(Buffer.byteLength(body)) });
      const req = request(url, { method, agent: this.agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const nonce = res.headers['replay-nonce'];
          if (typeof nonce === 'string') this.nonces.push(nonce);
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: AcmeBody = {};
          try {
            parsed = JSON.parse(text) as AcmeBody;
          } catch {
            /* a certificate chain, or an empty HEAD answer */
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed, text });
        });
      });
      req.on('error', reject);
      req.setTimeout(30000, () => req.destroy(new Error(`${method} ${url}: no answer in 30 s`)));
      req.end(body);
    });
  }
}
