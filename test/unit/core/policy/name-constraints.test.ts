import { InvalidInputError, PolicyError } from '../../../../src/core/errors';
import { checkNameConstraints, dnsWithin, parseNameConstraintFlags, type ConstrainingCa } from '../../../../src/core/policy/name-constraints';
import type { NameConstraints } from '../../../../src/core/x509/name-constraints';

const none: NameConstraints = { permittedDns: [], excludedDns: [], permittedIps: [], excludedIps: [] };
const inter: ConstrainingCa = {
  label: 'CA "inter"',
  constraints: {
    ...none,
    permittedDns: ['internal.example'],
    excludedDns: ['bad.internal.example'],
    permittedIps: ['10.0.0.0/8'],
    excludedIps: ['10.9.0.0/16'],
  },
};
const check = (names: Partial<{ commonName: string; dnsNames: string[]; ipAddresses: string[] }>, chain = [inter]) =>
  checkNameConstraints(chain, { commonName: '', dnsNames: [], ipAddresses: [], ...names });

describe('name constraints policy', () => {
  it('accepts names under a permitted subtree, the subtree itself included', () => {
    expect(() =>
      check({ dnsNames: ['internal.example', 'a.internal.example', 'x.y.Internal.Example', '*.a.internal.example'], ipAddresses: ['10.1.2.3'] }),
    ).not.toThrow();
  });

  it.each([
    [
      { dnsNames: ['xinternal.example'] },
      /DNS name "xinternal.example" is outside the name constraints of CA "inter": not under its permitted DNS subtrees \(internal.example\)/,
    ],
    [{ dnsNames: ['internal.example.com'] }, /not under its permitted DNS subtrees/],
    [{ dnsNames: ['bad.internal.example'] }, /DNS name "bad.internal.example" .* within its excluded DNS subtree bad.internal.example/],
    [{ dnsNames: ['x.bad.internal.example'] }, /within its excluded DNS subtree bad.internal.example/],
    // A wildcard one level up could stand for the excluded name.
    [{ dnsNames: ['*.internal.example'] }, /"\*.internal.example" .* excluded DNS subtree bad.internal.example/],
    [{ ipAddresses: ['192.168.0.1'] }, /IP address "192.168.0.1" .* not in its permitted IP ranges \(10.0.0.0\/8\)/],
    [{ ipAddresses: ['10.9.1.1'] }, /IP address "10.9.1.1" .* within its excluded IP range 10.9.0.0\/16/],
    // An IPv6 address is not within an IPv4 range.
    [{ ipAddresses: ['::ffff:10.0.0.1'] }, /not in its permitted IP ranges/],
    // The CN when it is a host name or an IP, even without a SAN (a client certificate).
    [{ commonName: 'evil.example.com' }, /DNS name "evil.example.com" .* permitted DNS subtrees/],
    [{ commonName: '192.168.1.1' }, /IP address "192.168.1.1"/],
  ])('refuses %j with exit 5 naming the name and the subtree', (names, message) => {
    let thrown: unknown;
    try {
      check(names);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(PolicyError);
    expect((thrown as PolicyError).exitCode).toBe(5);
    expect((thrown as Error).message).toMatch(message);
  });

  it('leaves a CN that is not a host name alone, and name types without a permitted subtree unconstrained', () => {
    expect(() => check({ commonName: 'alice' })).not.toThrow();
    expect(() => check({ commonName: 'Issuing CA 1' })).not.toThrow();
    const dnsOnly: ConstrainingCa = { label: 'CA "d"', constraints: { ...none, permittedDns: ['internal.example'] } };
    expect(() => check({ dnsNames: ['a.internal.example'], ipAddresses: ['8.8.8.8'] }, [dnsOnly])).not.toThrow();
  });

  it('checks every CA of the chain and names the one that refuses', () => {
    const above: ConstrainingCa = { label: 'the CA above it (CN=Root)', constraints: { ...none, excludedDns: ['secret.internal.example'] } };
    expect(() => check({ dnsNames: ['db.secret.internal.example'] }, [inter, above])).toThrow(
      /of the CA above it \(CN=Root\): within its excluded DNS subtree secret.internal.example/,
    );
  });

  it('reads a leading-dot subtree (written by another CA) the stricter way', () => {
    expect(dnsWithin('a.internal.example', '.internal.example')).toBe(true);
    expect(dnsWithin('internal.example', '.internal.example')).toBe(false); // permitted: names under it only
    expect(dnsWithin('internal.example', '.internal.example', true)).toBe(true); // excluded: it too
    expect(dnsWithin('xinternal.example', 'internal.example')).toBe(false);
  });

  it('parses the flags: lower case, RFC 5280 form with a note for a leading dot, canonical CIDR', () => {
    const { constraints, notes } = parseNameConstraintFlags({
      permitDns: ['.Internal.Example', 'internal.example'],
      excludeDns: ['bad.internal.example.'],
      permitIp: ['10.0.0.0/8', 'FD00::/8'],
    });
    expect(constraints).toEqual({
      permittedDns: ['internal.example'],
      excludedDns: ['bad.internal.example'],
      permittedIps: ['10.0.0.0/8', 'fd00::/8'],
      excludedIps: [],
    });
    expect(notes).toEqual([expect.stringContaining('--permit-dns .Internal.Example is written as internal.example')]);
    expect(parseNameConstraintFlags({}).constraints).toBeUndefined();
  });

  it.each([
    [{ permitDns: [''] }, /^--permit-dns "": an empty DNS subtree/],
    [{ excludeDns: ['.'] }, /^--exclude-dns ".": an empty DNS subtree/],
    [{ permitDns: ['*.internal.example'] }, /^--permit-dns "\*.internal.example" is not a DNS domain/],
    [{ permitDns: ['a b.example'] }, /^--permit-dns "a b.example" is not a DNS domain/],
    [{ permitIp: ['10.0.0/8'] }, /^--permit-ip "10.0.0\/8" is not ADDRESS\/PREFIX/],
    [{ excludeIp: ['10.0.0.1/8'] }, /^--exclude-ip "10.0.0.1\/8" has bits set past its prefix/],
  ])('refuses %j with exit 2 naming the flag', (flags, message) => {
    expect(() => parseNameConstraintFlags(flags)).toThrow(InvalidInputError);
    expect(() => parseNameConstraintFlags(flags)).toThrow(message);
  });
});
