import { CertctlError } from '../../../src/core/errors';
import type { CertificateRecord } from '../../../src/core/types';
import { parseOutTemplate } from '../../../src/cli/out-template';

const record = (commonName: string): CertificateRecord =>
  ({ serial: '0A1B', profile: 'client', commonName, dnsNames: [], ipAddresses: [] }) as unknown as CertificateRecord;

function invalid(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CertctlError);
    expect((err as CertctlError).exitCode).toBe(2);
    return (err as Error).message;
  }
  throw new Error('expected an InvalidInputError');
}

describe('--out-template', () => {
  test('expands {cn}, {serial} and {profile}', () => {
    expect(parseOutTemplate('certs/{profile}/{cn}-{serial}/').expand(record('alice'))).toBe('certs/client/alice-0A1B/');
    expect(parseOutTemplate('certs/{cn}').expand(record('*.example.com'))).toBe('certs/*.example.com');
  });

  test.each(['certs/{nope}/', 'certs/{CN}/', 'certs/{cn', 'certs/cn}', ''])('refuses %j naming --out-template', (text) => {
    expect(invalid(() => parseOutTemplate(text))).toContain('--out-template');
  });

  test.each(['', '.', '..', 'a/b', '../etc', 'a\\b', 'a\nb'])('refuses the CN %j for that certificate, pointing to {serial}', (cn) => {
    const message = invalid(() => parseOutTemplate('certs/{cn}/').expand(record(cn)));
    expect(message).toMatch(/serial 0A1B: \{cn\}.*\{serial\}/);
    expect(message).not.toContain('\n');
  });
});
