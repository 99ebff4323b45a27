/**
 * What the validation authority refuses before it looks anything up or connects (malformed
 * challenges, refused addresses, a bad resolver setting) and the small pure helpers it relies on.
 */
import { validateChallenge } from '../../../../src/acme/va';
import { refusedAddressReason, reverseDnsName } from '../../../../src/acme/va/addresses';
import { challengeInputProblem } from '../../../../src/acme/va/challenge-input';
import { preview } from '../../../../src/acme/va/problems';
import { ConfigError } from '../../../../src/core/errors';
import { challenge, settings } from '../../../support/acme-va';

const malformed = (detail: string) => ({ type: 'urn:ietf:params:acme:error:malformed', detail: expect.stringContaining(detail) });

describe('malformed challenges', () => {
  it('accepts what RFC 8555 and RFC 8738 allow', () => {
    expect(challengeInputProblem(challenge('http-01', { type: 'dns', value: 'www.example.com' }))).toBeUndefined();
    expect(challengeInputProblem(challenge('tls-alpn-01', { type: 'ip', value: '2001:db8::1' }))).toBeUndefined();
    expect(challengeInputProblem(challenge('dns-01', { type: 'dns', value: '*.example.com' }))).toBeUndefined();
    expect(challengeInputProblem(challenge('http-01', { type: 'dns', value: 'intranet' }))).toBeUndefined();
  });

  it.each([
    ['a wildcard with http-01', challenge('http-01', { type: 'dns', value: '*.example.com' }), 'wildcard name can be validated by dns-01 only'],
    ['a wildcard with tls-alpn-01', challenge('tls-alpn-01', { type: 'dns', value: '*.example.com' }), 'wildcard name can be validated by dns-01 only'],
    ['an IP address with dns-01', challenge('dns-01', { type: 'ip', value: '192.0.2.1' }), 'dns-01 cannot validate an IP address'],
    ['an upper-case name', challenge('http-01', { type: 'dns', value: 'WWW.example.com' }), 'is not a lower-case DNS name'],
    ['a name with a space and a path', challenge('http-01', { type: 'dns', value: 'a.example/x y' }), 'is not a lower-case DNS name'],
    ['a name with a port', challenge('http-01', { type: 'dns', value: 'a.example:8080' }), 'is not a lower-case DNS name'],
    ['an IP address as a dns identifier', challenge('http-01', { type: 'dns', value: '192.0.2.1' }), 'is not a lower-case DNS name'],
    ['a wildcard deeper than the first label', challenge('dns-01', { type: 'dns', value: 'a.*.example.com' }), 'is not a lower-case DNS name'],
    ['an ip identifier that is no address', challenge('http-01', { type: 'ip', value: 'example.com' }), 'is not an IP address'],
  ])('refuses %s', (_what, ch, detail) => {
    expect(challengeInputProblem(ch)).toEqual(malformed(detail));
  });

  it('refuses a token or key authorization that is not what RFC 8555 §8.1 makes', () => {
    const ch = challenge('http-01', { type: 'dns', value: 'a.example' });
    expect(challengeInputProblem({ ...ch, token: '../../etc/passwd' })).toEqual(malformed('the token is not 43 base64url characters'));
    expect(challengeInputProblem({ ...ch, keyAuthorization: `${'A'.repeat(43)}.${'B'.repeat(43)}` })).toEqual(malformed('the key authorization is not'));
    expect(challengeInputProblem({ ...ch, keyAuthorization: `${ch.token}.short` })).toEqual(malformed('the key authorization is not'));
  });

  it('answers a malformed problem from validateChallenge without connecting anywhere', async () => {
    const result = await validateChallenge(challenge('http-01', { type: 'dns', value: '*.example.com' }), settings({ http01Port: 1 }));
    expect(result).toEqual({ ok: false, problem: malformed('wildcard') });
  });

  it('throws a ConfigError for a dns_resolver that is not an address and port', async () => {
    await expect(validateChallenge(challenge('dns-01', { type: 'dns', value: 'a.example' }), settings({ dnsResolver: 'dns.example:53' }))).rejects.toThrow(
      ConfigError,
    );
  });
});

describe('addresses', () => {
  it.each([
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['169.254.169.254', 'link-local'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'scoped'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['224.0.0.1', 'multicast'],
    ['ff02::1', 'multicast'],
    ['255.255.255.255', 'reserved'],
  ])('never connects to %s (%s)', (address, reason) => {
    expect(refusedAddressReason(address)).toBe(reason);
  });

  it.each(['127.0.0.1', '::1', '10.1.2.3', '192.168.0.1', '203.0.113.7', '2001:db8::1', '::ffff:192.0.2.1'])('may connect to %s', (address) => {
    expect(refusedAddressReason(address)).toBeUndefined();
  });

  it('names IP addresses in reverse DNS as RFC 8738 §6 shows', () => {
    expect(reverseDnsName('192.0.2.1')).toBe('1.2.0.192.in-addr.arpa');
    // RFC 8738's own example: 2001:db8::1 → 1.0.0.0. … .8.b.d.0.1.0.0.2.ip6.arpa
    expect(reverseDnsName('2001:db8::1')).toBe(`1.${'0.'.repeat(23)}8.b.d.0.1.0.0.2.ip6.arpa`);
  });
});

describe('problem details', () => {
  it('quote at most 60 characters of what a peer sent, with control characters escaped', () => {
    expect(preview('ok\n')).toBe('"ok\\n"');
    expect(preview('x'.repeat(61))).toBe(`"${'x'.repeat(60)}"… (61 characters)`);
  });
});
