/**
 * The server's CRL and OCSP caches against real stores, in process: two sets of containers over one
 * store stand for two server instances (or the CLI revoking beside a server). A store with the
 * revocationVersion capability (file) is checked with one read per request; one without it (the
 * memory backend of test/backends, registered here) is read per request instead — both must show a
 * revocation made elsewhere at once, and serve unchanged answers from the cache.
 */
import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AsnConvert } from '@peculiar/asn1-schema';
import { BasicOCSPResponse, OCSPResponse } from '@peculiar/asn1-ocsp';
import type { FastifyBaseLogger } from 'fastify';
import { registry } from '../../../src/backends';
import { loadConfig } from '../../../src/core/config/load';
import { CaServices } from '../../../src/server/ca-services';
import { parseServeOptions } from '../../../src/server/config';
import { CrlCache } from '../../../src/server/revocation/crl-cache';
import { OcspResponder } from '../../../src/server/revocation/ocsp-responder';
import { ResponderKeys } from '../../../src/server/revocation/responder-keys';
import { RevocationWatch } from '../../../src/server/revocation/revocation-watch';
import { ServedCas } from '../../../src/server/revocation/served-cas';
import { memoryBackend } from '../../backends/memory';

/** Log lines go nowhere: these tests read answers, not logs. */
const silent = () => ({ info: () => undefined, error: () => undefined }) as unknown as FastifyBaseLogger;

beforeAll(() => registry.register(memoryBackend));
afterAll(() => registry.unregister(memoryBackend.name));

describe.each<[string, () => string]>([
  ['file (revocationVersion)', () => 'file: { dir: ./pki }\n'],
  ['memory (no revocationVersion: read per request)', () => `backend: memory\nmemory: { space: caches-${randomBytes(4).toString('hex')} }\n`],
])('revocation caches over a %s store', (_label, yaml) => {
  let dir: string;
  let serving: CaServices;
  let other: CaServices;
  let ocsp: OcspResponder;
  let crls: CrlCache;
  const issue = async (cn: string) => {
    const result = await other.service().issue({ profile: 'client', commonName: cn });
    const item = result.items[0];
    writeFileSync(join(dir, `${cn}.pem`), item.certPem);
    execFileSync('openssl', ['ocsp', '-issuer', join(dir, 'ca.pem'), '-cert', join(dir, `${cn}.pem`), '-no_nonce', '-reqout', join(dir, `${cn}.req`)]);
    return { serial: item.record.serial, request: () => readFileSync(join(dir, `${cn}.req`)) };
  };
  const status = (der: Buffer) => {
    const response = AsnConvert.parse(der, OCSPResponse);
    const basic = AsnConvert.parse(response.responseBytes!.response, BasicOCSPResponse);
    const s = basic.tbsResponseData.responses[0].certStatus;
    return s.good !== undefined ? 'good' : s.revoked ? 'revoked' : 'unknown';
  };

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'certctl-caches-'));
    writeFileSync(join(dir, 'certctl.yaml'), yaml());
    const config = () => loadConfig({ configPath: join(dir, 'certctl.yaml') }, { XDG_CONFIG_HOME: join(dir, 'xdg') }, dir, registry.sections());
    serving = new CaServices(config(), { get: () => undefined }, registry);
    other = new CaServices(config(), { get: () => undefined }, registry);
    const record = await other.service().init({ commonName: 'Caches CA' });
    writeFileSync(join(dir, 'ca.pem'), record.record.certPem);
    const options = parseServeOptions(config());
    const watch = new RevocationWatch(serving);
    crls = new CrlCache(serving, watch);
    ocsp = new OcspResponder(serving, new ServedCas(serving), watch, new ResponderKeys(serving, () => options, silent), () => options);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('serves an unchanged OCSP answer from the cache, and a revocation made elsewhere at once', async () => {
    const cert = await issue('alice');
    const first = await ocsp.respond('default', cert.request());
    expect([first.source, status(first.der)]).toEqual(['signed', 'good']);
    const second = await ocsp.respond('default', cert.request());
    expect(second.source).toBe('cache');
    expect(second.der.equals(first.der)).toBe(true);

    await other.service().revoke([cert.serial], 'keyCompromise');
    const after = await ocsp.respond('default', cert.request());
    expect([after.source, status(after.der)]).toEqual(['signed', 'revoked']);
    expect((await ocsp.respond('default', cert.request())).source).toBe('cache');
  });

  it('signs once for a burst of requests about one certificate', async () => {
    const cert = await issue('bob');
    const answers = await Promise.all(Array.from({ length: 20 }, () => ocsp.respond('default', cert.request())));
    // ECDSA signatures differ every time: one DER for all twenty means one signing. Without
    // revocation versions a request may share only a signing that started after it arrived: two at most.
    expect(new Set(answers.map((a) => a.der.toString('hex'))).size).toBeLessThanOrEqual(yaml().startsWith('file') ? 1 : 2);
  });

  it('never caches "unknown": a serial may be issued later', async () => {
    const cert = await issue('carol');
    const request = cert.request();
    // The same request bytes for a serial the inventory does not have: change the serial's last octet.
    request[request.length - 1] ^= 0xff;
    const first = await ocsp.respond('default', request);
    expect([first.source, status(first.der)]).toEqual(['signed', 'unknown']);
    expect((await ocsp.respond('default', request)).source).toBe('signed');
  });

  it('signs the CRL again only when a revocation happened, wherever it was made', async () => {
    const cert = await issue('dave');
    const first = await crls.get('default');
    expect((await crls.get('default')).der.equals(first.der)).toBe(true);
    await other.service().revoke([cert.serial], 'superseded');
    const after = await crls.get('default');
    expect(after.der.equals(first.der)).toBe(false);
    writeFileSync(join(dir, 'after.crl'), after.der);
    const text = execFileSync('openssl', ['crl', '-inform', 'DER', '-in', join(dir, 'after.crl'), '-noout', '-text'], { encoding: 'utf8' });
    expect(text).toContain(`Serial Number: ${cert.serial}`);
    expect(after.nextUpdate!.getTime()).toBeGreaterThan(after.thisUpdate.getTime());
  });
});
