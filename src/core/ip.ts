/**
 * 4 for an IPv4 address, 6 for an IPv6 address, 0 for anything else: node:net's isIP, asked only
 * about text that could be an address (only digits and dots, or a colon). Loading node:net
 * (sockets, streams) costs every command ~0.5 ms, and isIP's first call compiles its IPv6
 * pattern; a host name never pays either.
 */
export function ipFamily(text: string): 0 | 4 | 6 {
  if (!text.includes(':') && !/^[\d.]+$/.test(text)) return 0;
  const { isIP } = require('node:net') as typeof import('node:net');
  return isIP(text) as 0 | 4 | 6;
}
