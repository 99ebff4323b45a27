import { ConfigError, InvalidInputError, PolicyError } from '../../../../src/core/errors';
import { checkOtherNames } from '../../../../src/core/policy/other-names';
import { buildProfiles, keyUsageFor, leafProfile } from '../../../../src/core/policy/profiles';
import { checkSubject, globMatches } from '../../../../src/core/policy/subject-policy';
import { encodeSubject } from '../../../../src/core/x509/subject';

const profiles = buildProfiles({
  client: { allowed_organizations: ['system:masters', 'team-*'] },
  'kube-admin': { base: 'client', organization: ['system:masters'] },
  workload: { base: 'peer', allowed_uris: ['spiffe://prod.example/*'], allowed_emails: ['*@prod.example'] },
  signer: { extended_key_usage: ['codeSigning', '1.3.6.1.5.5.7.3.17'], key_usage: ['digitalSignature', 'keyEncipherment', 'keyAgreement'] },
});

function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('did not throw');
}

describe('subject attributes under policy', () => {
  it('takes allowed values (exact or *), refuses others with exit 5 naming the attribute and key', () => {
    expect(checkSubject('client', profiles.client.subject, { O: ['system:masters', 'team-a'] }, false, '--org').subject).toEqual({
      O: ['system:masters', 'team-a'],
    });
    const err = thrown(() => checkSubject('client', profiles.client.subject, { O: ['system:nodes'] }, true, 'csr'));
    expect(err).toBeInstanceOf(PolicyError);
    expect(err.message).toContain('subject O (organization) "system:nodes" is not allowed by profiles.client.allowed_organizations');
  });

  it('where the profile says nothing: a CSR value is dropped (reported), a flag is refused', () => {
    expect(checkSubject('peer', profiles.peer.subject, { O: ['x'], OU: ['y'] }, true, 'csr')).toEqual({ subject: {}, ignored: ['subject O', 'subject OU'] });
    expect(thrown(() => checkSubject('peer', profiles.peer.subject, { O: ['x'] }, false, 'request')).message).toContain('profiles.peer.allowed_organizations');
  });

  it('writes fixed values first; a base profile does not pass on the operator policy of the built-in', () => {
    expect(checkSubject('kube-admin', profiles['kube-admin'].subject, {}, false, 'r').subject).toEqual({ O: ['system:masters'] });
    expect(profiles['kube-admin'].subject.O.allowed).toBeUndefined();
    expect(profiles['kube-admin'].extKeyUsage).toEqual(['clientAuth']);
  });

  it('enforces syntax and RFC 5280 bounds with exit 2', () => {
    for (const [attrs, msg] of [
      [{ C: ['us'] }, 'two-letter'],
      [{ O: ['x'.repeat(65)] }, '1 to 64'],
      [{ ST: ['x'.repeat(129)] }, '1 to 128'],
      [{ serialNumber: ['a_b'] }, 'PrintableString'],
    ] as [Record<string, string[]>, string][]) {
      const open = buildProfiles({ client: { allowed_countries: ['*'], allowed_organizations: ['*'], allowed_states: ['*'], allowed_serial_numbers: ['*'] } });
      const err = thrown(() => checkSubject('client', open.client.subject, attrs, false, '--flag'));
      expect(err).toBeInstanceOf(InvalidInputError);
      expect(err.message).toContain(msg);
    }
    expect(encodeSubject('', { L: ['x'.repeat(128)] }).length).toBeGreaterThan(128);
  });

  it('globs: * is any run of characters, nothing else is special', () => {
    expect(globMatches('spiffe://prod.example/*', 'spiffe://prod.example/ns/a')).toBe(true);
    expect(globMatches('a.b', 'axb')).toBe(false);
    expect(globMatches('*@prod.example', 'x@prod.example.evil')).toBe(false);
  });
});

describe('URI and email SANs', () => {
  it('normalises scheme, host and email domain; checks allowed_uris / allowed_emails', () => {
    expect(checkOtherNames(profiles.workload, ['SPIFFE://Prod.Example/ns/Web'], ['Ops@Prod.Example.'], 'r')).toEqual({
      uris: ['spiffe://prod.example/ns/Web'],
      emails: ['Ops@prod.example'],
    });
    expect(thrown(() => checkOtherNames(profiles.workload, ['spiffe://other.example/x'], [], 'r'))).toBeInstanceOf(PolicyError);
    expect(thrown(() => checkOtherNames(profiles.client, ['spiffe://prod.example/x'], [], 'r')).message).toContain('profiles.client.allowed_uris');
  });

  it.each([['relative/path'], ['spiffe:///no-host'], ['http://exa mple/'], ['https://bad_host!/']])('refuses URI %s with exit 2', (uri) => {
    expect(thrown(() => checkOtherNames(profiles.workload, [uri], [], '--uri'))).toBeInstanceOf(InvalidInputError);
  });

  it.each([['no-at'], ['a@b@c'], ['a b@prod.example'], ['a@-bad.example']])('refuses email %s with exit 2', (email) => {
    expect(thrown(() => checkOtherNames(profiles.workload, [], [email], '--email'))).toBeInstanceOf(InvalidInputError);
  });
});

describe('custom profiles', () => {
  it('keeps the configured EKUs (names and OIDs) and key usages a key can perform', () => {
    expect(profiles.signer.extKeyUsage).toEqual(['codeSigning', '1.3.6.1.5.5.7.3.17']);
    expect(keyUsageFor(profiles.signer, 'rsa-2048')).toEqual(['digitalSignature', 'keyEncipherment']);
    expect(keyUsageFor(profiles.signer, 'ec-p256')).toEqual(['digitalSignature', 'keyAgreement']);
    expect(keyUsageFor(profiles.signer, 'ed25519')).toEqual(['digitalSignature']);
  });

  it('names an unknown profile and lists the known ones, intermediate excluded', () => {
    const err = thrown(() => leafProfile(profiles, 'intermediate', 'issue'));
    expect(err).toBeInstanceOf(InvalidInputError);
    expect(err.message).toContain('choose server, client, peer, node, ocsp, kube-admin, workload, signer');
    expect(leafProfile(profiles, 'workload', 'issue').name).toBe('workload');
    expect(() => leafProfile(profiles, 'toString', 'issue')).toThrow(InvalidInputError);
  });

  it('refuses at load, naming the path', () => {
    expect(() => buildProfiles({ x: { key_usage: ['digitalSignature'] } })).toThrow('profiles.x: a custom profile needs base:');
    expect(() => buildProfiles({ server: { base: 'client' } })).toThrow(ConfigError);
    expect(() => buildProfiles({ x: { base: 'client', country: ['USA'] } })).toThrow('profiles.x.country[0]');
    expect(() => buildProfiles({ x: { base: 'client', serial_number: ['a', 'b'] } })).toThrow('profiles.x.serial_number: a subject has at most one');
    expect(() => buildProfiles({ x: { extended_key_usage: ['serverAuth', 'serverAuth'] } })).toThrow('profiles.x.extended_key_usage');
  });
});
