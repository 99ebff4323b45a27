import { isIP } from 'node:net';
import { ipFamily } from '../../../src/core/ip';

describe('ipFamily', () => {
  it.each([
    '127.0.0.1',
    '10.0.0.256',
    '1.2.3',
    '1..2.3',
    '::1',
    '::',
    'fe80::1%eth0',
    '::ffff:192.0.2.1',
    '2001:db8::g',
    '[::1]',
    'example.com',
    'localhost',
    'x',
    '',
    '1e3',
    '0x7f.0.0.1',
    ' 127.0.0.1',
    '127.0.0.1 ',
    'a:b',
    '١٢٧.0.0.1',
  ])('answers as node:net isIP for %j', (text) => {
    expect(ipFamily(text)).toBe(isIP(text));
  });
});
