/**
 * Real ACME clients against `certctl serve` (the built CLI, file backend): certbot (certonly over
 * http-01, renew when certctl's renewalInfo says so, renew --force-renewal, revoke), lego
 * (http-01, tls-alpn-01, dns-01 through challtestsrv) and the protocol edge cases of
 * acme_edge.py. The same helpers are proven against Pebble in
 * test/integration/acme-clients-pebble.test.ts. Validation is pointed at the clients' ports and
 * at challtestsrv as the resolver (every name is 127.0.0.1) by certctl.yaml's `acme:` section.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Certbot, checkObtained, legoEveryChallenge, type AcmeDirectory } from '../support/acme-clients';
import { edgeMismatches, runAcmeEdge } from '../support/acme-edge';
import { describeWithAcmeTools } from '../support/acme-tools';
import { startChalltestsrv, type Challtestsrv } from '../support/challtestsrv';
import { ok, requireBuiltCli, tempDir } from '../support/cli';
import { startServe, type ServeProcess } from '../support/serve';
import { freePort } from '../support/tls-check';

jest.setTimeout(120000);

describeWithAcmeTools('ACME clients against certctl serve', (tools) => {
  const tmp = tempDir('certctl-acme-clients-');
  const dir = join(tmp.dir, 'ca');
  let dns: Challtestsrv;
  let server: ServeProcess;
  let directory: AcmeDirectory;
  let http01Port: number;
  let tlsPort: number;
  const certctl = (args: string[]) => ok(dir, args);

  beforeAll(async () => {
    requireBuiltCli();
    dns = await startChalltestsrv(tools.challtestsrv, { pidFile: join(tmp.dir, 'challtestsrv.pid') });
    http01Port = await freePort();
    tlsPort = await freePort();
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'certctl.yaml'),
      `acme:\n  cas: [default]\n  http01_port: ${http01Port}\n  tlsalpn01_port: ${tlsPort}\n  dns_resolver: ${dns.dnsResolver}\n`,
    );
    certctl(['init', '--cn', 'ACME Clients Test CA']);
    const ca = certctl(['ca', 'show', '--json']).json?.result?.ca as string;
    server = await startServe(dir);
    directory = { url: `${server.url}/acme/${ca}/directory`, caFile: server.caFile };
  });

  afterAll(async () => {
    if (server) await server.stop();
    await dns?.stop();
    tmp.cleanup();
  });

  it('certbot: certonly over http-01; renews when renewalInfo says so; renew --force-renewal; revoke', async () => {
    const certbot = new Certbot(tools, directory, join(tmp.dir, 'certbot'));
    const first = checkObtained(await certbot.certonly({ names: ['www.acme.test'], http01Port }), server.caFile);
    expect(first).toMatchObject({ verified: true, sans: ['DNS:www.acme.test'], keyMatches: true });
    // The ACME profile `default` is certctl's server profile.
    expect(first.extensions).toContain('TLS Web Server Authentication');
    expect(first.extensions).toContain('CA:FALSE');

    // certctl moves its renewalInfo window to now: certbot (which asks renewalInfo) renews. This
    // comes first: certbot asks renewalInfo again only after the Retry-After of its last answer.
    certctl(['acme', 'renew-early', first.serial]);
    await certbot.renew({ force: false });
    const early = checkObtained(certbot.lineage('www.acme.test'), server.caFile);
    expect(early).toMatchObject({ verified: true, keyMatches: true });
    expect(early.serial).not.toBe(first.serial);
    // The new certificate is not due: certbot keeps it.
    await certbot.renew({ force: false });
    expect(checkObtained(certbot.lineage('www.acme.test'), server.caFile).serial).toBe(early.serial);

    await certbot.renew({ force: true });
    const forced = checkObtained(certbot.lineage('www.acme.test'), server.caFile);
    expect(forced.serial).not.toBe(early.serial);

    await certbot.revoke(certbot.lineage('www.acme.test').certificate, 'keycompromise');
    const shown = certctl(['show', forced.serial, '--json']).json?.result;
    expect(shown).toMatchObject({ status: 'revoked' });
  });

  it('lego: http-01, tls-alpn-01 and dns-01 (challtestsrv) side by side; revoke', async () => {
    const runs = await legoEveryChallenge(tools, directory, tmp.dir, { http01Port, tlsPort, dns, rootFile: server.caFile });
    for (const r of runs) expect({ type: r.type, ...r.check }).toMatchObject({ type: r.type, verified: true, sans: r.sans, keyMatches: true });

    const wildcard = runs.find((r) => r.type === 'dns-01')!;
    await wildcard.lego.revoke(wildcard.names[0], 4);
    expect(certctl(['show', wildcard.check.serial, '--json']).json?.result).toMatchObject({ status: 'revoked' });
  });

  it('the acme library: protocol edge cases answered as RFC 8555 and the issue say', async () => {
    const results = await runAcmeEdge(tools, directory, { http01Port });
    expect(results.map((r) => r.case)).toHaveLength(8);
    expect(edgeMismatches(results)).toEqual([]);
  });
});
