import { InvalidInputError } from '../../../src/core/errors';
import { BACKOFF_BASE_MS, BACKOFF_CAP_MS, backoffMs, earliestNextRenewal, parseRenewBefore, renewalPoint } from '../../../src/client/agent/schedule';

describe('agent: --renew-before', () => {
  it('reads a share of the lifetime or a duration', () => {
    expect(parseRenewBefore('33%')).toEqual({ kind: 'share', percent: 33 });
    expect(parseRenewBefore('12.5%')).toEqual({ kind: 'share', percent: 12.5 });
    expect(parseRenewBefore('100%')).toEqual({ kind: 'share', percent: 100 });
    expect(parseRenewBefore('8h')).toEqual({ kind: 'duration', seconds: 8 * 3600 });
    expect(parseRenewBefore('30d')).toEqual({ kind: 'duration', seconds: 30 * 86400 });
  });

  it.each(['0%', '101%', '-5%', '33', 'soon', ''])('refuses %p naming the flag', (text) => {
    expect(() => parseRenewBefore(text)).toThrow(InvalidInputError);
    expect(() => parseRenewBefore(text)).toThrow(/--renew-before/);
  });

  const notBefore = new Date('2030-01-01T00:00:00Z');
  const notAfter = new Date('2030-01-31T00:00:00Z');

  it('renews when less than the share is left: 33% of 30 days is 9.9 days before expiry', () => {
    expect(renewalPoint(notBefore, notAfter, parseRenewBefore('33%')).toISOString()).toBe('2030-01-21T02:24:00.000Z');
  });

  it('100% is due from the first moment of validity; a duration counts back from notAfter', () => {
    expect(renewalPoint(notBefore, notAfter, parseRenewBefore('100%'))).toEqual(notBefore);
    expect(renewalPoint(notBefore, notAfter, parseRenewBefore('8h')).toISOString()).toBe('2030-01-30T16:00:00.000Z');
  });

  it('keeps a tenth of the lifetime (at least 10 s) between renewals of a certificate due at once', () => {
    const renewedAt = new Date('2030-01-01T00:00:00Z');
    expect(earliestNextRenewal(renewedAt, notBefore, notAfter).toISOString()).toBe('2030-01-04T00:00:00.000Z');
    expect(earliestNextRenewal(renewedAt, notBefore, new Date(notBefore.getTime() + 30_000)).getTime() - renewedAt.getTime()).toBe(10_000);
  });
});

describe('agent: backoff', () => {
  it('doubles from one second for retryable failures, drawn from the upper half of each step', () => {
    expect(backoffMs(1, true, () => 0)).toBe(BACKOFF_BASE_MS / 2);
    expect(backoffMs(1, true, () => 1)).toBe(BACKOFF_BASE_MS);
    expect(backoffMs(4, true, () => 1)).toBe(8 * BACKOFF_BASE_MS);
    expect(backoffMs(4, true, () => 0)).toBe(4 * BACKOFF_BASE_MS);
  });

  it('is capped, even after very many failures', () => {
    expect(backoffMs(50, true, () => 1)).toBe(BACKOFF_CAP_MS);
    expect(backoffMs(1000, true, () => 0)).toBe(BACKOFF_CAP_MS / 2);
  });

  it('waits at the cap at once after a failure retrying cannot fix (refused certificate, policy)', () => {
    expect(backoffMs(1, false, () => 0)).toBe(BACKOFF_CAP_MS / 2);
    expect(backoffMs(1, false, () => 1)).toBe(BACKOFF_CAP_MS);
  });
});
