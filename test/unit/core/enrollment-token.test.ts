import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import {
  checkGrant,
  createEnrollmentToken,
  ENROLLMENT_TOKENS,
  findEnrollmentToken,
  readGrant,
  spendEnrollmentToken,
  tokenId,
  tokenStore,
} from '../../../src/core/enrollment-token';
import { InvalidInputError, NotSupportedError, PolicyError, UnauthorizedError } from '../../../src/core/errors';
import type { AuthorizedNames } from '../../../src/core/issuance-service';
import { buildProfiles } from '../../../src/core/policy/profiles';
import type { CertStore } from '../../../src/core/cert-store';
import { MemoryCertStore } from '../../backends/memory/memory-cert-store';

const profiles = buildProfiles({
  server: { allowed_dns: ['*.nodes.example'] },
  kube: { base: 'client', organization: ['system:nodes'] },
});

describe('enrollment tokens (core)', () => {
  const store = () => new MemoryCertStore({ space: `tokens-${randomBytes(4).toString('hex')}` });
  const request = {
    ca: 'default',
    profile: profiles.server,
    commonName: 'Node7.Nodes.Example',
    dnsNames: ['node7.nodes.example'],
    ipAddresses: ['10.0.0.7'],
    ttlSeconds: 900,
  };
  const names = (over: Partial<AuthorizedNames> = {}): AuthorizedNames => ({
    ca: 'default',
    profile: 'server',
    commonName: 'node7.nodes.example',
    dnsNames: ['node7.nodes.example'],
    ipAddresses: ['10.0.0.7'],
    uris: [],
    emails: [],
    subject: {},
    ...over,
  });

  it('makes a token whose grant names are normalised by the profile, and keeps only its hash', async () => {
    const s = store();
    const now = new Date('2030-01-01T00:00:00Z');
    const { token, id, grant } = await createEnrollmentToken(s, request, now);
    expect(token).toMatch(/^certctl1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(id).toBe(tokenId(token));
    expect(grant).toEqual({
      ca: 'default',
      profile: 'server',
      commonName: 'node7.nodes.example',
      dnsNames: ['node7.nodes.example'],
      ipAddresses: ['10.0.0.7'],
      subject: {},
      expiresAt: '2030-01-01T00:15:00.000Z',
    });
    expect(readGrant(token)).toEqual(grant);
    const record = await s.getState(ENROLLMENT_TOKENS, id);
    expect(record?.expiresAt).toBe(grant.expiresAt);
    expect(JSON.stringify(record)).not.toContain(token.split('.')[2]);
  });

  it('refuses names the profile refuses, or none at all, before storing anything', async () => {
    const s = store();
    await expect(createEnrollmentToken(s, { ...request, dnsNames: ['evil.example'] })).rejects.toBeInstanceOf(PolicyError);
    await expect(createEnrollmentToken(s, { ...request, profile: profiles.client, commonName: '', dnsNames: [], ipAddresses: [] })).rejects.toBeInstanceOf(
      InvalidInputError,
    );
    expect(await s.pruneState(ENROLLMENT_TOKENS, new Date(Date.now() + 86400_000))).toBe(0);
  });

  it('reads the grant of a token, and says nothing of a malformed one but that it is malformed', () => {
    const secret = 'S'.repeat(43);
    for (const bad of ['garbage', `certctl1.e30.${secret}`, `certctl2.e30.${secret}`, `certctl1.!!!.${secret}`, `certctl1.e30.short`]) {
      const err = (() => {
        try {
          readGrant(bad);
        } catch (e) {
          return e as Error;
        }
      })();
      expect(err).toBeInstanceOf(InvalidInputError);
      expect(err?.message).not.toContain(secret);
      expect(err?.message).not.toContain('garbage');
    }
  });

  it('finds a token, spends it once, then refuses it as used; a changed grant is an unknown token', async () => {
    const s = store();
    const { token, id } = await createEnrollmentToken(s, request);
    expect((await findEnrollmentToken(s, token)).grant.commonName).toBe('node7.nodes.example');
    const [head, grant, secret] = token.split('.');
    const widened = Buffer.from(JSON.stringify({ ...readGrant(token), dnsNames: ['*.nodes.example'] })).toString('base64url');
    await expect(findEnrollmentToken(s, `${head}.${widened}.${secret}`)).rejects.toThrow(/is not known to this CA/);
    expect(grant).not.toBe(widened);
    await spendEnrollmentToken(s, id);
    await expect(spendEnrollmentToken(s, id)).rejects.toThrow(/already used/);
    const used = await findEnrollmentToken(s, token).catch((e: Error) => e);
    expect(used).toBeInstanceOf(UnauthorizedError);
    expect((used as Error).message).toMatch(/^token [0-9a-f]{16} was already used/);
    expect((used as Error).message).not.toContain(secret);
    await expect(findEnrollmentToken(s, 'not-a-token')).rejects.toBeInstanceOf(UnauthorizedError);
  });

  it('refuses an expired token when it is looked up and when it is spent', async () => {
    const s = store();
    const past = new Date(Date.now() - 3600_000);
    const { token, id } = await createEnrollmentToken(s, { ...request, ttlSeconds: 60 }, past);
    await expect(findEnrollmentToken(s, token)).rejects.toThrow(/expired at/);
    await expect(spendEnrollmentToken(s, id)).rejects.toThrow(/expired at/);
  });

  it('allows the grant or less, and refuses anything more', async () => {
    const { id, grant } = await createEnrollmentToken(store(), request);
    expect(() => checkGrant(id, grant, names())).not.toThrow();
    expect(() => checkGrant(id, grant, names({ ipAddresses: [] }))).not.toThrow();
    const refusals: [Partial<AuthorizedNames>, RegExp][] = [
      [{ ca: 'other' }, /CA "other"/],
      [{ profile: 'client' }, /profile client/],
      [{ commonName: 'other.nodes.example' }, /CN "other\.nodes\.example"/],
      [{ commonName: '' }, /without its CN/],
      [{ dnsNames: ['node7.nodes.example', 'node8.nodes.example'] }, /DNS name "node8\.nodes\.example"/],
      [{ ipAddresses: ['10.0.0.8'] }, /IP address 10\.0\.0\.8/],
      [{ uris: ['spiffe://x/y'] }, /URI or email SAN/],
      [{ subject: { O: ['system:masters'] } }, /subject O="system:masters"/],
    ];
    for (const [over, says] of refusals) {
      const err = (() => {
        try {
          checkGrant(id, grant, names(over));
        } catch (e) {
          return e as Error;
        }
      })();
      expect(err).toBeInstanceOf(PolicyError);
      expect(err?.message).toMatch(says);
      expect(err?.message).toMatch(
        /it was created for profile server from CA "default" for CN=node7\.nodes\.example, DNS node7\.nodes\.example, IP 10\.0\.0\.7/,
      );
    }
  });

  it('allows the subject attributes the profile writes itself', async () => {
    const { id, grant } = await createEnrollmentToken(store(), {
      ...request,
      profile: profiles.kube,
      commonName: 'system:node:n7',
      dnsNames: [],
      ipAddresses: [],
    });
    expect(grant.subject).toEqual({ O: ['system:nodes'] });
    const asked = names({ profile: 'kube', commonName: 'system:node:n7', dnsNames: [], ipAddresses: [], subject: { O: ['system:nodes'] } });
    expect(() => checkGrant(id, grant, asked)).not.toThrow();
    expect(() => checkGrant(id, grant, { ...asked, subject: { O: ['system:nodes', 'system:masters'] } })).toThrow(PolicyError);
  });

  it('needs a store with the state capability', () => {
    const withoutState = { kind: 'barbican' } as CertStore;
    expect(() => tokenStore(withoutState)).toThrow(NotSupportedError);
    expect(() => tokenStore(withoutState)).toThrow(/barbican store/);
  });
});
