import { parseListen, parseServeOptions } from '../../../src/server/config';
import type { ResolvedConfig } from '../../../src/core/config/load';

function config(serve: unknown): ResolvedConfig {
  return { path: '/etc/certctl.yaml', baseDir: '/etc', sections: { serve }, ca: 'default' } as unknown as ResolvedConfig;
}

describe('serve section', () => {
  it('has defaults when absent', () => {
    const o = parseServeOptions(config(undefined));
    expect(o).toMatchObject({ host: '127.0.0.1', port: 8443, tokenMaxTtlSeconds: 86400 });
    expect(o.limits).toEqual({ bodyBytes: 65536, headerTimeoutMs: 10000, requestTimeoutMs: 30000, requestsPerMinute: 6000 });
  });

  it('resolves paths, durations and roles; --listen wins', () => {
    const o = parseServeOptions(
      config({
        listen: '0.0.0.0:9000',
        tls: { cert: 'tls.crt', key: 'tls.key' },
        roles: { a: { admin: true } },
        clients: [{ cn: 'x', role: 'a' }],
        limits: { header_timeout: '2s' },
      }),
      '[::1]:7000',
    );
    expect([o.host, o.port]).toEqual(['::1', 7000]);
    expect(o.tls.certPath).toBe('/etc/tls.crt');
    expect(o.clients[0].role).toBe(o.roles.get('a'));
    expect(o.limits.headerTimeoutMs).toBe(2000);
  });

  it('names the bad key', () => {
    expect(() => parseServeOptions(config({ clients: [{ cn: 'x', role: 'nope' }] }))).toThrow(/serve\.clients\.0\.role: no role "nope"/);
    expect(() => parseServeOptions(config({ tls: { cert: 'a.crt' } }))).toThrow(/serve\.tls: give both cert and key/);
    expect(() => parseServeOptions(config({ limits: { body_bytes: 0 } }))).toThrow(/serve\.limits\.body_bytes/);
    expect(() => parseServeOptions(config({ listn: 'x' }))).toThrow(/serve: unknown key "listn"/);
    expect(() => parseListen('host', '--listen')).toThrow(/--listen: expected HOST:PORT/);
  });
});
