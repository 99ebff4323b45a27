/**
 * Real ACME clients against `certctl serve` (the built CLI, file backend): certbot (certonly over
 * http-01, renew when certctl's renewalInfo says so, renew --force-renewal, revoke), lego
 * (http-01, tls-alpn-01, dns-01 through challtestsrv) and the protocol edge cases of
 * acme_edge.py. The same helpers are proven against Pebble in
 * test/integration/acme-clients-pebble.test.ts. Validation is pointed at the clients' ports and
 * at challtestsrv as the resolver (every name is 127.0.0.1) by certctl.yaml's `acme:` section.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Certbot, checkObtained, Lego, legoEveryChallenge, type AcmeDirectory } from '../support/acme-clients';
import { edgeMismatches, runAcmeEdge } from '../support/acme-edge';
import { describeWithAcmeTools } from '../support/acme-tools';
import { startChalltestsrv, type Challtestsrv } from '../support/challtestsrv';
import { ok, requireBuiltCli, run, tempDir } from '../support/cli';
import { startNginx } from '../support/nginx';
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

    // nginx serves what certbot got to curl, which trusts only certctl's CA.
    const lineage = certbot.lineage('www.acme.test');
    const web = join(tmp.dir, 'nginx');
    mkdirSync(web, { recursive: true });
    const nginx = await startNginx(
      web,
      `    ssl_certificate ${lineage.fullchain};\n    ssl_certificate_key ${lineage.key};\n    location / { return 200 "acme ok\\n"; }`,
    );
    try {
      const curl = run('curl', [
        '-sS',
        '--cacert',
        server.caFile,
        '--resolve',
        `www.acme.test:${nginx.port}:127.0.0.1`,
        `https://www.acme.test:${nginx.port}/`,
      ]);
      expect(curl.stdout).toBe('acme ok\n');
    } finally {
      await nginx.stop();
    }

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

  it('lego: an External Account Binding the CA demands (one account per key) and an ACME profile chosen by the order', async () => {
    const before = readFileSync(join(dir, 'certctl.yaml'), 'utf8');
    const reload = async (count: number) => {
      server.child.kill('SIGHUP');
      for (let i = 0; i < 100 && server.log().split('configuration reloaded').length - 1 < count; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    };
    writeFileSync(
      join(dir, 'certctl.yaml'),
      `acme:\n  cas: [default]\n  http01_port: ${http01Port}\n  tlsalpn01_port: ${tlsPort}\n  dns_resolver: ${dns.dnsResolver}\n` +
        '  external_account_required: true\n  profiles:\n    default: { profile: server, ttl: 90d }\n    shortlived: { profile: server, ttl: 24h }\n',
    );
    await reload(1);
    const challenge = { type: 'http-01' as const, port: http01Port };

    const without = new Lego(tools, directory, join(tmp.dir, 'lego-no-eab'));
    await expect(without.obtain({ names: ['eab1.acme.test'], challenge })).rejects.toThrow(/externalAccountRequired|External Account Binding/);

    const eab = certctl(['acme', 'eab', 'create', '--json']).json?.result as { kid: string; hmacKey: string };
    const bound = new Lego(tools, directory, join(tmp.dir, 'lego-eab'));
    const got = await bound.obtain({
      names: ['eab1.acme.test'],
      challenge,
      extra: ['--eab', '--eab.kid', eab.kid, '--eab.hmac', eab.hmacKey, '--profile', 'shortlived'],
    });
    const check = checkObtained(got, server.caFile);
    expect(check).toMatchObject({ verified: true, sans: ['DNS:eab1.acme.test'], keyMatches: true });
    const shown = certctl(['show', check.serial, '--json']).json?.result as { notBefore: string; notAfter: string };
    // The shortlived profile: 24 h (certctl backdates notBefore by a minute).
    expect(Date.parse(shown.notAfter) - Date.parse(shown.notBefore)).toBeLessThanOrEqual(24 * 3600_000 + 120_000);

    const second = new Lego(tools, directory, join(tmp.dir, 'lego-eab-again'));
    await expect(second.obtain({ names: ['eab2.acme.test'], challenge, extra: ['--eab', '--eab.kid', eab.kid, '--eab.hmac', eab.hmacKey] })).rejects.toThrow(
      /already bound/,
    );
    writeFileSync(join(dir, 'certctl.yaml'), before);
    await reload(2);
  });

  it('the acme library: protocol edge cases answered as RFC 8555 and the issue say', async () => {
    const results = await runAcmeEdge(tools, directory, { http01Port });
    expect(results.map((r) => r.case)).toHaveLength(8);
    expect(edgeMismatches(results)).toEqual([]);
  });
});
