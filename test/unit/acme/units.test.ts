import { generateKeyPairSync } from 'node:crypto';
import { parseJws, verifyJws, thumbprint } from '../../../src/acme/jws';
import { parseIdentifiers } from '../../../src/acme/orders';
import { AcmeError } from '../../../src/acme/problems';
import { RateLimits } from '../../../src/acme/rate-limits';
import { renewalWindow } from '../../../src/acme/renewal-info';
import type { CertificateRecord } from '../../../src/core/types';

async function signedJws(header: Record<string, unknown>, payload: unknown) {
  const jose = require('jose') as typeof import('jose');
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = await jose.exportJWK(publicKey);
  const body = payload === undefined ? new Uint8Array() : new TextEncoder().encode(JSON.stringify(payload));
  const jws = await new jose.FlattenedSign(body).setProtectedHeader({ alg: 'ES256', jwk, ...header }).sign(privateKey);
  return { jws, jwk };
}

describe('ACME JWS checks', () => {
  const url = 'https://ca.test/acme/default/new-order';

  it('verifies a flattened JWS and returns its payload; POST-as-GET is undefined', async () => {
    const { jws, jwk } = await signedJws({ nonce: 'n', url }, { a: 1 });
    expect(await verifyJws(parseJws(jws, url), jwk)).toEqual({ a: 1 });
    const empty = await signedJws({ nonce: 'n', url }, undefined);
    expect(await verifyJws(parseJws(empty.jws, url), empty.jwk)).toBeUndefined();
    expect(await thumbprint(jwk)).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('refuses a url mismatch, a signature by another key, a private jwk and a missing signature', async () => {
    const { jws } = await signedJws({ nonce: 'n', url }, {});
    expect(() => parseJws(jws, 'https://ca.test/other')).toThrow(expect.objectContaining({ acmeType: 'unauthorized' }));
    const other = await signedJws({ nonce: 'n', url }, {});
    await expect(verifyJws(parseJws(jws, url), other.jwk)).rejects.toMatchObject({ acmeType: 'malformed' });
    expect(() => parseJws({ protected: jws.protected, payload: jws.payload }, url)).toThrow(AcmeError);
    const header = JSON.parse(Buffer.from(jws.protected ?? '', 'base64url').toString()) as Record<string, unknown>;
    const withKid = Buffer.from(JSON.stringify({ ...header, kid: 'x' })).toString('base64url');
    expect(() => parseJws({ ...jws, protected: withKid }, url)).toThrow(/exactly one of jwk and kid/);
    const hs = Buffer.from(JSON.stringify({ ...header, alg: 'HS256' })).toString('base64url');
    expect(() => parseJws({ ...jws, protected: hs }, url)).toThrow(expect.objectContaining({ acmeType: 'badSignatureAlgorithm' }));
  });
});

describe('ACME orders and limits', () => {
  it('normalizes identifiers and refuses bad ones', () => {
    expect(
      parseIdentifiers([
        { type: 'dns', value: 'WWW.Example.test.' },
        { type: 'dns', value: 'www.example.test' },
        { type: 'ip', value: '10.0.0.1' },
      ]),
    ).toEqual([
      { type: 'dns', value: 'www.example.test' },
      { type: 'ip', value: '10.0.0.1' },
    ]);
    expect(() => parseIdentifiers([])).toThrow(/non-empty/);
    expect(() => parseIdentifiers([{ type: 'email', value: 'a@b' }])).toThrow(expect.objectContaining({ acmeType: 'unsupportedIdentifier' }));
  });

  it('rate-limits past the maximum within the window, with Retry-After', () => {
    const limits = new RateLimits();
    limits.take('k', 2, 1000, 'orders', 0);
    limits.take('k', 2, 1000, 'orders', 10);
    expect(() => limits.take('k', 2, 1000, 'orders', 20)).toThrow(
      expect.objectContaining({ acmeType: 'rateLimited', status: 429, headers: { 'retry-after': '1' } }),
    );
    expect(() => limits.take('k', 2, 1000, 'orders', 1001)).not.toThrow();
  });

  it('suggests renewal in the last third, at once for a revoked certificate or an override', () => {
    const record = { notBefore: '2026-01-01T00:00:00.000Z', notAfter: '2026-01-31T00:00:00.000Z', status: 'valid' } as CertificateRecord;
    expect(renewalWindow(record, undefined)).toEqual({ start: '2026-01-21T00:00:00.000Z', end: '2026-01-26T00:00:00.000Z' });
    const now = new Date('2026-01-05T00:00:00Z');
    expect(Date.parse(renewalWindow({ ...record, status: 'revoked' }, undefined, now).end)).toBeLessThan(now.getTime());
    const override = { start: 'a', end: 'b' };
    expect(renewalWindow(record, override)).toBe(override);
  });
});
