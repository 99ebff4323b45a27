import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, urlsOfCa } from '../../../src/core/config/load';
import { ConfigError } from '../../../src/core/errors';
import { parseServeOptions } from '../../../src/server/config';

describe('serve.public_http_listen and serve.ocsp', () => {
  let dir: string;
  const options = (yaml: string) => {
    writeFileSync(join(dir, 'certctl.yaml'), yaml);
    return parseServeOptions(loadConfig({}, { XDG_CONFIG_HOME: join(dir, 'xdg') }, dir));
  };
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'certctl-serve-config-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('defaults: no plain-HTTP listener; the CA key when the signer lends it; answers valid 1h; responder certificates 24h', () => {
    const o = options('ca: default\n');
    expect(o.publicHttp).toBeUndefined();
    expect(o.ocsp).toEqual({ responder: 'auto', validitySeconds: 3600, responderTtlSeconds: 86400 });
  });

  it('reads the listener and the responder settings', () => {
    const o = options('serve:\n  public_http_listen: "[::1]:8080"\n  ocsp: { responder: delegated, validity: 10m, responder_ttl: 2h }\n');
    expect(o.publicHttp).toEqual({ host: '::1', port: 8080 });
    expect(o.ocsp).toEqual({ responder: 'delegated', validitySeconds: 600, responderTtlSeconds: 7200 });
  });

  it.each([
    ['serve:\n  public_http_listen: "localhost"\n', /serve\.public_http_listen: expected HOST:PORT/],
    ['serve:\n  ocsp: { responder: vault }\n', /serve\.ocsp\.responder/],
    ['serve:\n  ocsp: { validity: 1h, responder_ttl: 2h }\n', /serve\.ocsp\.responder_ttl: must be at least three times ocsp\.validity/],
  ])('refuses %j naming the key', (yaml, message) => {
    expect(() => options(yaml)).toThrow(ConfigError);
    expect(() => options(yaml)).toThrow(message);
  });

  it('writes each CA its own URLs where urls: say {ca}', () => {
    const urls = { crl: ['http://ca.example/crl/{ca}.crl'], issuingCa: ['http://ca.example/ca.pem'], ocsp: ['http://ca.example/ocsp/{ca}'] };
    expect(urlsOfCa(urls, 'edge')).toEqual({
      crl: ['http://ca.example/crl/edge.crl'],
      issuingCa: ['http://ca.example/ca.pem'],
      ocsp: ['http://ca.example/ocsp/edge'],
    });
  });
});
