import { InvalidInputError, PolicyError } from '../../../../src/core/errors';
import { checkNames, checkValidity, dnsMatches } from '../../../../src/core/policy/check';
import { buildProfiles } from '../../../../src/core/policy/profiles';
import { ConfigError } from '../../../../src/core/errors';

const profiles = buildProfiles({
  server: { max_ttl: '398d', allowed_dns: ['*.internal.example', 'localhost'], allowed_ips: ['10.0.0.0/8', '127.0.0.1/32', 'fd00::/8'] },
});

describe('dnsMatches', () => {
  it.each([
    ['*.internal.example', 'a.internal.example', true],
    ['*.internal.example', 'a.b.internal.example', false],
    ['*.internal.example', 'internal.example', false],
    ['*.internal.example', '*.internal.example', true],
    ['localhost', 'localhost', true],
    ['localhost', 'localhost.evil', false],
    ['*.internal.example', 'ainternal.example', false],
  ])('%s vs %s → %s', (pattern, name, expected) => {
    expect(dnsMatches(pattern, name)).toBe(expected);
  });
});

describe('checkNames', () => {
  it('accepts names inside policy, lower-cases DNS and canonicalises IPv6', () => {
    const out = checkNames(profiles.server, 'API.internal.example', ['Web.Internal.Example.'], ['FD00:0:0::1', '10.1.2.3']);
    expect(out.dnsNames).toEqual(['web.internal.example', 'api.internal.example']);
    expect(out.ipAddresses).toEqual(['fd00::1', '10.1.2.3']);
  });

  it('refuses a DNS name outside allowed_dns with exit 5, naming the name and the setting', () => {
    const err = (() => {
      try {
        checkNames(profiles.server, 'x', ['evil.com'], []);
      } catch (e) {
        return e;
      }
    })() as PolicyError;
    expect(err).toBeInstanceOf(PolicyError);
    expect(err.exitCode).toBe(5);
    expect(err.message).toContain('evil.com');
    expect(err.message).toContain('profiles.server.allowed_dns');
  });

  it('refuses an IP outside allowed_ips', () => {
    expect(() => checkNames(profiles.server, 'x', ['localhost'], ['192.168.1.1'])).toThrow(/192\.168\.1\.1.*allowed_ips/);
  });

  it('refuses malformed names with exit 2', () => {
    expect(() => checkNames(profiles.server, 'x', ['bad_name!'], [])).toThrow(InvalidInputError);
    expect(() => checkNames(profiles.server, 'x', [], ['10.0.0.256'])).toThrow(InvalidInputError);
    expect(() => checkNames(profiles.server, 'x', ['-lead.internal.example'], [])).toThrow(InvalidInputError);
  });

  it('requires a SAN for server certificates', () => {
    expect(() => checkNames(profiles.server, 'My Server', [], [])).toThrow(PolicyError);
  });

  it('adds a host-name CN of a server to its SANs, and checks it against policy', () => {
    expect(checkNames(profiles.server, 'localhost', [], []).dnsNames).toEqual(['localhost']);
    expect(() => checkNames(profiles.server, 'outside.example.com', ['localhost'], [])).toThrow(/outside\.example\.com/);
  });

  it('does not add a client CN to SANs', () => {
    expect(checkNames(profiles.client, 'alice.example.com', [], []).dnsNames).toEqual([]);
  });

  it('writes a host-name CN as its SAN: lower case, no trailing dot (zlint e_subject_common_name_not_exactly_from_san)', () => {
    const open = buildProfiles(undefined);
    expect(checkNames(open.server, 'A.Example.', ['a.example.'], [])).toEqual({ commonName: 'a.example', dnsNames: ['a.example'], ipAddresses: [] });
    // A client CN is a person's name unless it is also one of the DNS SANs.
    expect(checkNames(open.client, 'Alice Smith', [], []).commonName).toBe('Alice Smith');
    expect(checkNames(open.client, 'Host.Example.', ['host.example'], []).commonName).toBe('host.example');
    expect(checkNames(open.client, 'Host.Example.', [], []).commonName).toBe('Host.Example.');
  });

  it('writes an IPv4-mapped IPv6 address as the IPv4 address, in the SAN and the CN', () => {
    const open = buildProfiles(undefined);
    expect(checkNames(open.server, '::FFFF:10.0.0.1', [], ['::ffff:10.0.0.1', '::ffff:a00:2'])).toEqual({
      commonName: '10.0.0.1',
      dnsNames: [],
      ipAddresses: ['10.0.0.1', '10.0.0.2'],
    });
    // Policy sees the IPv4 form: a v4 range admits it.
    expect(checkNames(profiles.server, 'x', [], ['::ffff:10.1.2.3']).ipAddresses).toEqual(['10.1.2.3']);
  });

  it('refuses a CN longer than 64 characters', () => {
    expect(() => checkNames(profiles.client, 'x'.repeat(65), [], [])).toThrow(/64/);
  });
});

describe('checkValidity', () => {
  const now = new Date('2026-06-01T00:00:00Z');
  const caEnd = new Date('2027-01-01T00:00:00Z');

  it('backdates notBefore by a minute and applies the TTL', () => {
    const v = checkValidity(profiles.server, 86400, caEnd, now);
    expect(v.notBefore.toISOString()).toBe('2026-05-31T23:59:00.000Z');
    expect(v.notAfter.toISOString()).toBe('2026-06-02T00:00:00.000Z');
  });

  it('refuses an explicit TTL above the profile maximum', () => {
    expect(() => checkValidity(profiles.server, 399 * 86400, new Date('2030-01-01Z'), now)).toThrow(/max_ttl.*398d/);
  });

  it('refuses an explicit TTL past the CA, naming the longest possible', () => {
    expect(() => checkValidity(profiles.server, 300 * 86400, caEnd, now)).toThrow(/longest TTL possible is 214d/);
  });

  it('shortens the default TTL to end with the CA, with a warning', () => {
    const v = checkValidity(profiles.server, undefined, caEnd, now);
    expect(v.notAfter).toEqual(caEnd);
    expect(v.warning).toMatch(/shortened/);
  });

  it('refuses to issue from an expired CA', () => {
    expect(() => checkValidity(profiles.server, 3600, new Date('2026-01-01Z'), now)).toThrow(/expired/);
  });
});

describe('buildProfiles', () => {
  it('validates policy at load time, naming the path', () => {
    expect(() => buildProfiles({ server: { allowed_ips: ['10.0.0.0/8', '10.0.0/33'] } })).toThrow(ConfigError);
    expect(() => buildProfiles({ server: { allowed_ips: ['10.0.0.0/8', 'nope'] } })).toThrow('profiles.server.allowed_ips[1]');
    expect(() => buildProfiles({ client: { max_ttl: '30d', default_ttl: '60d' } })).toThrow('profiles.client.default_ttl');
    expect(() => buildProfiles({ peer: { allowed_key_types: ['rsa-2048'], key_type: 'ec-p256' } })).toThrow('profiles.peer.key_type');
    expect(() => buildProfiles({ server: { allowed_dns: ['bad name'] } })).toThrow('profiles.server.allowed_dns[0]');
  });

  it('gives every profile its EKU from the design table', () => {
    const p = buildProfiles(undefined);
    expect(p.server.extKeyUsage).toEqual(['serverAuth']);
    expect(p.client.extKeyUsage).toEqual(['clientAuth']);
    expect(p.peer.extKeyUsage).toEqual(['serverAuth', 'clientAuth']);
    expect(p.node.extKeyUsage).toEqual(['serverAuth', 'clientAuth']);
    expect(p.node.uuidCommonName).toBe(true);
    expect(p.intermediate.isCa).toBe(true);
  });
});
