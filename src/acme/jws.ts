import type { JWK, KeyLike } from 'jose';
import { AcmeError } from './problems';

/** The signature algorithms certctl accepts on ACME requests (RFC 8555 §6.2; the list). */
export const JWS_ALGORITHMS = ['ES256', 'ES384', 'RS256', 'EdDSA'] as const;

/** A flattened JWS as RFC 8555 §6.2 sends it. */
interface FlattenedJws {
  protected: string;
  payload: string;
  signature: string;
}

/** The protected header fields ACME uses. */
export interface AcmeHeader {
  alg: string;
  nonce?: string;
  url?: string;
  jwk?: JWK;
  kid?: string;
}

/** A JWS whose structure and header are checked but whose signature is not verified yet. */
export interface ParsedJws {
  jws: FlattenedJws;
  header: AcmeHeader;
}

/**
 * Parses a request body as a flattened JWS and checks its protected header against RFC 8555 §6.2–6.4:
 * an allowed algorithm, `url` equal to the request's URL, and exactly one of `jwk` / `kid`.
 * @throws AcmeError malformed / badSignatureAlgorithm / unauthorized (url mismatch).
 */
export function parseJws(body: unknown, requestUrl: string): ParsedJws {
  const jws = body as Partial<FlattenedJws> | undefined;
  if (!jws || typeof jws !== 'object' || typeof jws.protected !== 'string' || typeof jws.payload !== 'string' || typeof jws.signature !== 'string') {
    throw new AcmeError('malformed', 'the request body is not a flattened JWS (protected, payload, signature)');
  }
  if (Object.keys(jws).some((k) => !['protected', 'payload', 'signature'].includes(k))) {
    throw new AcmeError('malformed', 'the JWS has an unprotected header or other members; ACME requests carry only protected, payload and signature');
  }
  let header: AcmeHeader & { b64?: unknown; crit?: unknown };
  try {
    header = JSON.parse(Buffer.from(jws.protected, 'base64url').toString('utf8')) as AcmeHeader;
  } catch {
    throw new AcmeError('malformed', 'the JWS protected header is not base64url-encoded JSON');
  }
  if (!(JWS_ALGORITHMS as readonly string[]).includes(header.alg)) {
    throw new AcmeError('badSignatureAlgorithm', `the JWS algorithm "${String(header.alg)}" is not accepted; use one of ${JWS_ALGORITHMS.join(', ')}`);
  }
  if (header.b64 !== undefined || header.crit !== undefined) throw new AcmeError('malformed', 'the JWS header may not use b64 or crit');
  if (Boolean(header.jwk) === Boolean(header.kid)) throw new AcmeError('malformed', 'the JWS header must have exactly one of jwk and kid');
  if (header.url !== requestUrl) throw new AcmeError('unauthorized', `the JWS url "${String(header.url)}" is not the URL requested (${requestUrl})`);
  if (header.jwk && (typeof header.jwk !== 'object' || 'd' in header.jwk)) throw new AcmeError('malformed', 'the JWS jwk must be a public key');
  return { jws: jws as FlattenedJws, header };
}

/**
 * Verifies the signature with `jwk` (jose) and returns the payload: undefined for POST-as-GET (an
 * empty payload), else the parsed JSON.
 * @throws AcmeError badPublicKey for a key jose cannot use with the algorithm; malformed for a bad signature or payload.
 */
export async function verifyJws(parsed: ParsedJws, jwk: JWK): Promise<unknown> {
  const jose = require('jose') as typeof import('jose');
  let key: KeyLike | Uint8Array;
  try {
    key = await jose.importJWK(jwk, parsed.header.alg);
  } catch (err) {
    throw new AcmeError('badPublicKey', `the account key cannot be used with ${parsed.header.alg}: ${(err as Error).message}`, { cause: err });
  }
  let payload: Uint8Array;
  try {
    ({ payload } = await jose.flattenedVerify(parsed.jws, key, { algorithms: [...JWS_ALGORITHMS] }));
  } catch (err) {
    throw new AcmeError('malformed', 'the JWS signature does not verify with the account key', { cause: err });
  }
  if (payload.length === 0) return undefined;
  try {
    return JSON.parse(Buffer.from(payload).toString('utf8')) as unknown;
  } catch {
    throw new AcmeError('malformed', 'the JWS payload is not JSON');
  }
}

/** RFC 7638 SHA-256 thumbprint of a public JWK, base64url. @throws AcmeError badPublicKey for an unusable key. */
export async function thumbprint(jwk: JWK): Promise<string> {
  const jose = require('jose') as typeof import('jose');
  try {
    return await jose.calculateJwkThumbprint(jwk, 'sha256');
  } catch (err) {
    throw new AcmeError('badPublicKey', `the JWK is not a usable public key: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Checks an External Account Binding (RFC 8555 §7.3.4): a JWS over the account's JWK, HS256 with
 * the EAB key, `kid` = the EAB key id, `url` = the newAccount URL.
 * @throws AcmeError unauthorized / malformed naming what is wrong.
 */
export async function verifyEab(
  eab: unknown,
  accountJwk: JWK,
  newAccountUrl: string,
  hmacKeyOf: (kid: string) => Promise<Buffer | undefined>,
): Promise<string> {
  const jose = require('jose') as typeof import('jose');
  const jws = eab as Partial<FlattenedJws> | undefined;
  if (!jws || typeof jws.protected !== 'string' || typeof jws.payload !== 'string' || typeof jws.signature !== 'string') {
    throw new AcmeError('malformed', 'externalAccountBinding is not a flattened JWS');
  }
  let header: { alg?: string; kid?: string; url?: string; nonce?: unknown };
  try {
    header = JSON.parse(Buffer.from(jws.protected, 'base64url').toString('utf8')) as typeof header;
  } catch {
    throw new AcmeError('malformed', 'externalAccountBinding: the protected header is not JSON');
  }
  if (header.alg !== 'HS256' && header.alg !== 'HS384' && header.alg !== 'HS512')
    throw new AcmeError('badSignatureAlgorithm', 'externalAccountBinding must be MAC-signed (HS256)');
  if (header.nonce !== undefined) throw new AcmeError('malformed', 'externalAccountBinding must not carry a nonce');
  if (header.url !== newAccountUrl) throw new AcmeError('unauthorized', 'externalAccountBinding url is not the newAccount URL');
  const secret = typeof header.kid === 'string' ? await hmacKeyOf(header.kid) : undefined;
  if (!secret) throw new AcmeError('unauthorized', 'externalAccountBinding names an unknown key id; create one with `certctl acme eab create`');
  let payload: Uint8Array;
  try {
    ({ payload } = await jose.flattenedVerify(jws as FlattenedJws, secret, { algorithms: ['HS256', 'HS384', 'HS512'] }));
  } catch (err) {
    throw new AcmeError('unauthorized', 'externalAccountBinding signature does not verify with that key', { cause: err });
  }
  const bound = JSON.parse(Buffer.from(payload).toString('utf8')) as JWK;
  if ((await thumbprint(bound)) !== (await thumbprint(accountJwk)))
    throw new AcmeError('unauthorized', 'externalAccountBinding binds another key than the account key');
  return header.kid as string;
}
