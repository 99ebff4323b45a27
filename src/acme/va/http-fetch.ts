/**
 * One HTTP(S) GET of http-01 to one IP address: the Host header (and SNI) name the identifier, the
 * connection goes to the address the validation resolved, through no proxy and no shared agent,
 * and at most 128 KiB of body is read.
 */
import type { IncomingMessage } from 'node:http';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { connectTimeout } from './connect';
import type { Deadline } from './deadline';
import { endpoint } from './addresses';
import { ChallengeFailure, networkFailure } from './problems';

/** The most body an http-01 response may have; a key authorization is under 100 bytes. */
export const MAX_BODY_BYTES = 128 * 1024;

const USER_AGENT = 'certctl-acme-validation';

/** What one request got: the status, a redirect's Location, and a 200's body (empty otherwise). */
export interface HttpAnswer {
  status: number;
  location?: string;
  body: Buffer;
}

async function readAnswer(res: IncomingMessage, where: string): Promise<HttpAnswer> {
  const status = res.statusCode ?? 0;
  if (status !== 200) {
    // Nothing of a redirect's or an error's body is needed: close rather than read it.
    res.destroy();
    return { status, location: res.headers.location, body: Buffer.alloc(0) };
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      res.destroy();
      throw new ChallengeFailure('unauthorized', `the response from ${where} is larger than ${MAX_BODY_BYTES / 1024} KiB`);
    }
    chunks.push(chunk);
  }
  return { status, body: Buffer.concat(chunks) };
}

/**
 * GET `url` from `address`; `servername` is the SNI of an https URL (a DNS identifier; none for an IP).
 * TLS certificates are not verified: the certificate is often what the validation is for, as
 * Let's Encrypt does when following a redirect to https.
 * @throws ChallengeFailure (connection, tls; `beforeConnect` when TCP never connected) or (unauthorized) for an oversized body.
 */
export function fetchOnce(url: URL, address: string, servername: string | undefined, connectTimeoutMs: number, deadline: Deadline): Promise<HttpAnswer> {
  const https = url.protocol === 'https:';
  const port = Number(url.port) || (https ? 443 : 80);
  const where = endpoint(address, port);
  const options: RequestOptions = {
    host: address,
    port,
    path: `${url.pathname}${url.search}`,
    method: 'GET',
    headers: { host: url.host, 'user-agent': USER_AGENT, accept: '*/*', connection: 'close' },
    // A fresh agent per request: no pooled socket to another address, no proxy from the environment.
    agent: false,
    signal: deadline.signal,
    ...(https ? { servername, rejectUnauthorized: false } : {}),
  };
  return new Promise<HttpAnswer>((resolve, reject) => {
    const req = (https ? httpsRequest : httpRequest)(options, (res) => {
      readAnswer(res, where).then(resolve, (err: unknown) => reject(networkFailure(err, where)));
    });
    req.on('socket', (socket) => connectTimeout(socket, connectTimeoutMs, where));
    req.on('error', (err) => reject(networkFailure(err, where)));
    req.end();
  });
}
