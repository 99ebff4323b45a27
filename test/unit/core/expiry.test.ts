import { daysLeft, expiryReport } from '../../../src/core/expiry';
import type { CertificateRecord } from '../../../src/core/types';

const NOW = new Date('2030-01-01T00:00:00Z');
const DAY = 86400000;

function rec(serial: string, days: number, over: Partial<CertificateRecord> = {}): CertificateRecord {
  return {
    serial,
    profile: 'server',
    commonName: 'a.example',
    dnsNames: ['a.example'],
    ipAddresses: [],
    keyType: 'ec-p256',
    notBefore: new Date(NOW.getTime() - DAY).toISOString(),
    notAfter: new Date(NOW.getTime() + days * DAY).toISOString(),
    issuedAt: NOW.toISOString(),
    hasKey: true,
    sha256: '00',
    status: 'valid',
    ...over,
  };
}

describe('expiryReport', () => {
  test('keeps valid certificates ending within the window, soonest first; leaves out revoked, expired and later ones', () => {
    const records = [
      rec('B', 20, { commonName: 'b.example', dnsNames: ['b.example'] }),
      rec('A', 5),
      rec('R', 3, { commonName: 'r.example', status: 'revoked', revocationReason: 'keyCompromise' }),
      rec('X', -1, { commonName: 'x.example' }),
      rec('L', 40, { commonName: 'l.example' }),
    ];
    const report = expiryReport(records, 30 * 86400, NOW);
    expect(report.expiring.map((r) => r.serial)).toEqual(['A', 'B']);
    expect(report.renewed).toEqual([]);
  });

  test('a certificate with a later one of the same profile and names counts as renewed, whatever the SAN order and case', () => {
    const old = rec('OLD', 5, { dnsNames: ['a.example', 'www.a.example'] });
    const renewed = rec('NEW', 90, { dnsNames: ['WWW.a.example', 'a.example'] });
    const otherProfile = rec('PEER', 5, { profile: 'peer', dnsNames: ['a.example', 'www.a.example'] });
    const report = expiryReport([old, renewed, otherProfile], 30 * 86400, NOW);
    expect(report.renewed.map((r) => [r.record.serial, r.by])).toEqual([['OLD', 'NEW']]);
    expect(report.expiring.map((r) => r.serial)).toEqual(['PEER']);
  });

  test('a revoked successor does not count as a renewal', () => {
    const report = expiryReport([rec('OLD', 5), rec('NEW', 90, { status: 'revoked' })], 30 * 86400, NOW);
    expect(report.expiring.map((r) => r.serial)).toEqual(['OLD']);
  });

  test('--profile narrows the report', () => {
    const report = expiryReport([rec('S', 5), rec('C', 5, { profile: 'client', commonName: 'c', dnsNames: [] })], 30 * 86400, NOW, 'client');
    expect(report.expiring.map((r) => r.serial)).toEqual(['C']);
  });

  test('daysLeft rounds down', () => {
    expect(daysLeft(new Date(NOW.getTime() + 20 * DAY - 1000).toISOString(), NOW)).toBe(19);
    expect(daysLeft(new Date(NOW.getTime() + 1000).toISOString(), NOW)).toBe(0);
  });
});
