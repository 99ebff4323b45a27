import { newSerial, parseSerial, serialToHex } from '../../../src/core/serial';
import { parseDuration } from '../../../src/core/duration';
import { InvalidInputError } from '../../../src/core/errors';

describe('serials', () => {
  it('are positive, at most 16 magnitude bytes, never zero and not repeated in 10,000 draws', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 10000; i++) {
      const s = newSerial();
      expect(s.length).toBeLessThanOrEqual(16);
      expect(s[0]).not.toBe(0);
      seen.add(serialToHex(s));
    }
    expect(seen.size).toBe(10000);
  });

  it.each([
    ['serial=0A1B2C', '0A1B2C'],
    ['0a:1b:2c', '0A1B2C'],
    ['a1b2c', '0A1B2C'],
    ['  00:0A:1B:2C ', '0A1B2C'],
    ['3AF1', '3AF1'],
  ])('parses %s as openssl prints it', (text, hex) => {
    expect(parseSerial(text)).toBe(hex);
  });

  it.each(['xyz', '', '12:zz', '1'.repeat(50)])('refuses %p', (text) => {
    expect(() => parseSerial(text)).toThrow(InvalidInputError);
  });
});

describe('parseDuration', () => {
  it.each([
    ['30s', 30],
    ['90m', 5400],
    ['12h', 43200],
    ['398d', 398 * 86400],
    ['2w', 14 * 86400],
    ['10y', 3650 * 86400],
  ])('%s = %d s', (text, seconds) => {
    expect(parseDuration(text, '--ttl')).toBe(seconds);
  });

  it.each(['abc', '10', '0d', '-1d', '1.5d', '101y'])('refuses %p naming the flag', (text) => {
    expect(() => parseDuration(text, '--ttl')).toThrow(/--ttl/);
  });
});
