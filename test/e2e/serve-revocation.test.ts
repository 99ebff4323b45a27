/**
 * End to end: the CRL and OCSP endpoints of `certctl serve` (the built CLI, file backend) with real
 * clients — `openssl ocsp` over HTTPS and plain HTTP, curl for the GET form and the CRL, `openssl
 * crl` verifying it, and nginx refusing a revoked client certificate through `ssl_ocsp` (no CRL
 * file) and through `ssl_crl` fed from /crl/{ca}.pem. Two server instances over one store: a
 * revocation through one shows at once in the other's OCSP answers and CRL; the second signs with
 * a delegated responder certificate (id-kp-OCSPSigning, id-pkix-ocsp-nocheck).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ok, requireBuiltCli, requireTool, run, tempDir } from '../support/cli';
import { nginxBinary, startNginx, type NginxProcess } from '../support/nginx';
import { openApiValidator } from '../support/openapi';
import { httpsCall, startServe, type HttpsAnswer, type ServeProcess } from '../support/serve';
import { freePort } from '../support/tls-check';

jest.setTimeout(180000);

describe('certctl serve: CRL and OCSP', () => {
  const { dir, cleanup } = tempDir('certctl-revocation-serve-');
  let a: ServeProcess;
  let b: ServeProcess;
  let plainA: string;
  let plainB: string;
  let validate: (path: string, method: string, answer: HttpsAnswer) => void;
  const caFile = () => join(dir, 'ca.pem');
  const cert = (name: string) => join(dir, name, 'cert.pem');
  const key = (name: string) => join(dir, name, 'key.pem');
  const serialOf = (name: string) =>
    run('openssl', ['x509', '-noout', '-serial', '-in', cert(name)])
      .stdout.trim()
      .split('=')[1];
  const admin = () => ({ cert: cert('admin'), key: key('admin') });
  const revoke = async (server: ServeProcess, name: string, reason: string) => {
    const r = await httpsCall(server, 'POST', '/v1/revoke', { ...admin(), json: { serial: serialOf(name), reason } });
    expect(r.status).toBe(200);
  };
  /** `openssl ocsp` for one certificate against `url`, stdout and stderr together. */
  const ocsp = (url: string, args: string[]) => {
    const r = run('openssl', ['ocsp', '-issuer', caFile(), '-CAfile', caFile(), '-url', url, ...args]);
    return `${r.stdout}${r.stderr}`;
  };

  beforeAll(async () => {
    requireBuiltCli();
    requireTool('curl', ['--version']);
    requireTool('openssl', ['version']);
    nginxBinary();
    const [portA, portB] = [await freePort(), await freePort()];
    plainA = `http://127.0.0.1:${portA}`;
    plainB = `http://127.0.0.1:${portB}`;
    const common = `urls:\n  crl: ["${plainA}/crl/{ca}.crl"]\n  ocsp: ["${plainA}/ocsp/{ca}"]\nserve:\n  roles: { admin: { admin: true } }\n  clients: [{ cn: ops-admin, role: admin }]\n`;
    writeFileSync(join(dir, 'certctl.yaml'), `${common}  public_http_listen: 127.0.0.1:${portA}\n`);
    writeFileSync(join(dir, 'b.yaml'), `${common}  public_http_listen: 127.0.0.1:${portB}\n  ocsp: { responder: delegated, responder_ttl: 6h }\n`);
    ok(dir, ['init', '--cn', 'Revocation Test CA']);
    ok(dir, ['issue', 'client', '--cn', 'ops-admin', '--out', join(dir, 'admin')]);
    for (const name of ['alice', 'bob', 'carol', 'dave']) ok(dir, ['issue', 'client', '--cn', name, '--out', join(dir, name)]);
    ok(dir, ['issue', 'server', '--cn', 'localhost', '--dns', 'localhost', '--ip', '127.0.0.1', '--out', join(dir, 'web')]);
    a = await startServe(dir);
    b = await startServe(dir, { CERTCTL_CONFIG: join(dir, 'b.yaml') });
    validate = await openApiValidator(a);
  });
  afterAll(async () => {
    if (a) expect(await a.stop()).toBe(0);
    if (b) expect(await b.stop()).toBe(0);
    cleanup();
  });

  it('issues certificates that name the CRL and the OCSP responder (urls: with {ca})', () => {
    const text = run('openssl', ['x509', '-noout', '-text', '-in', cert('alice')]).stdout;
    expect(text).toContain(`OCSP - URI:${plainA}/ocsp/default`);
    expect(text).toContain(`URI:${plainA}/crl/default.crl`);
  });

  it('answers openssl ocsp over HTTPS: good, revoked with reason and time, unknown; the nonce is echoed', async () => {
    await revoke(a, 'bob', 'keyCompromise');
    const good = ocsp(`${a.url}/ocsp/default`, ['-cert', cert('alice')]);
    expect(good).toContain('Response verify OK');
    expect(good).toContain(`${cert('alice')}: good`);
    expect(good).not.toMatch(/WARNING: no nonce/i);
    const revoked = ocsp(`${a.url}/ocsp/default`, ['-cert', cert('bob')]);
    expect(revoked).toContain(`${cert('bob')}: revoked`);
    expect(revoked).toMatch(/Reason: keyCompromise/);
    expect(revoked).toMatch(/Revocation Time: \w{3} +\d+ \d\d:\d\d:\d\d \d{4} GMT/);
    const unknown = ocsp(`${a.url}/ocsp/default`, ['-serial', '0x0123456789ABCDEF']);
    expect(unknown).toContain('Response verify OK');
    expect(unknown).toContain('0x0123456789ABCDEF: unknown');
  });

  it('answers over the plain-HTTP listener too, which serves nothing but /crl and /ocsp', () => {
    const good = ocsp(`${plainA}/ocsp/default`, ['-cert', cert('alice'), '-no_nonce']);
    expect(good).toContain('Response verify OK');
    expect(good).toContain(`${cert('alice')}: good`);
    const other = run('curl', ['-sS', '-w', '\n%{http_code}', `${plainA}/v1/ca`]);
    expect(other.stdout.split('\n').pop()).toBe('404');
    expect(other.stdout).toMatch(/serves \/crl\/ and \/ocsp\/ only/);
  });

  it('answers the GET form (RFC 6960 A.1) to curl, the same signed answer while nothing changes', async () => {
    const reqFile = join(dir, 'alice.ocsp-req');
    run('openssl', ['ocsp', '-issuer', caFile(), '-cert', cert('alice'), '-no_nonce', '-reqout', reqFile]);
    const path = `/ocsp/default/${encodeURIComponent(readFileSync(reqFile).toString('base64'))}`;
    const fetch = (out: string) =>
      run('curl', ['-sS', '-o', join(dir, out), '-w', '%{http_code} %{content_type}', '--cacert', caFile(), `${a.url}${path}`]).stdout;
    expect(fetch('get1.der')).toBe('200 application/ocsp-response');
    expect(fetch('get2.der')).toBe('200 application/ocsp-response');
    expect(readFileSync(join(dir, 'get2.der')).equals(readFileSync(join(dir, 'get1.der')))).toBe(true);
    const checked = run('openssl', ['ocsp', '-respin', join(dir, 'get1.der'), '-reqin', reqFile, '-CAfile', caFile(), '-verify_other', caFile(), '-resp_text']);
    expect(checked.stderr).toContain('Response verify OK');
    expect(checked.stdout).toContain('Cert Status: good');
    expect((await httpsCall(a, 'GET', '/metrics')).text).toMatch(/certctl_ocsp_responses_total\{ca="default",source="cache"\} [1-9]/);
  });

  it('serves the CRL as DER and PEM to curl; openssl verifies it and finds the revoked serial; If-None-Match gives 304', () => {
    const der = run('curl', [
      '-sS',
      '-D',
      join(dir, 'crl.headers'),
      '-o',
      join(dir, 'crl.der'),
      '-w',
      '%{http_code} %{content_type}',
      `${plainA}/crl/default.crl`,
    ]);
    expect(der.stdout).toBe('200 application/pkix-crl');
    const text = run('openssl', ['crl', '-inform', 'DER', '-in', join(dir, 'crl.der'), '-CAfile', caFile(), '-noout', '-text']);
    expect(text.stderr).toContain('verify OK');
    expect(text.stdout).toContain(`Serial Number: ${serialOf('bob')}`);
    expect(text.stdout).toMatch(/Key Compromise/);
    expect(text.stdout).not.toContain(serialOf('alice'));
    const pem = run('curl', ['-sS', '--cacert', caFile(), `${a.url}/crl/default.pem`]).stdout;
    expect(pem).toMatch(/^-----BEGIN X509 CRL-----/);
    const etag = /etag: (".*")/i.exec(readFileSync(join(dir, 'crl.headers'), 'utf8'))?.[1] as string;
    const again = run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-H', `If-None-Match: ${etag}`, `${plainA}/crl/default.crl`]);
    expect(again.stdout).toBe('304');
  });

  it('shows a revocation made through one instance at once in the other: OCSP (delegated responder) and CRL', async () => {
    const before = ocsp(`${plainB}/ocsp/default`, ['-cert', cert('dave'), '-no_nonce', '-resp_text']);
    expect(before).toContain('Response verify OK');
    expect(before).toContain(`${cert('dave')}: good`);
    // Signed by B's own responder certificate, which the CA issued with the ocsp profile.
    expect(before).toContain('Responder Id: CN = certctl OCSP responder for default');
    expect(before).toContain('OCSP Signing');
    expect(before).toContain('OCSP No Check');
    const crlBefore = run('curl', ['-sS', '-o', join(dir, 'b-before.crl'), `${plainB}/crl/default.crl`]);
    expect(crlBefore.status).toBe(0);

    await revoke(a, 'dave', 'superseded');
    const after = ocsp(`${plainB}/ocsp/default`, ['-cert', cert('dave'), '-no_nonce']);
    expect(after).toContain('Response verify OK');
    expect(after).toContain(`${cert('dave')}: revoked`);
    expect(after).toMatch(/Reason: superseded/);
    run('curl', ['-sS', '-o', join(dir, 'b-after.crl'), `${plainB}/crl/default.crl`]);
    const listed = run('openssl', ['crl', '-inform', 'DER', '-in', join(dir, 'b-after.crl'), '-CAfile', caFile(), '-noout', '-text']);
    expect(listed.stderr).toContain('verify OK');
    expect(listed.stdout).toContain(`Serial Number: ${serialOf('dave')}`);
    const inventory = ok(dir, ['list', '--json']).json?.result as { profile: string }[];
    expect(inventory.some((r) => r.profile === 'ocsp')).toBe(true);
  });

  /**
   * nginx requiring a client certificate of the CA, revocation checked by the directives
   * `check(siteDir)` returns; `body` gets a curl call with a client's certificate (body and status).
   */
  const withNginx = async (check: (siteDir: string) => string, body: (call: (name: string) => string, nginx: NginxProcess) => Promise<void>) => {
    const site = tempDir('certctl-nginx-');
    try {
      const nginx = await startNginx(
        site.dir,
        `    ssl_certificate ${cert('web')};
    ssl_certificate_key ${key('web')};
    ssl_verify_client on;
    ssl_client_certificate ${caFile()};
${check(site.dir)}
    location / { return 200 "hello $ssl_client_s_dn\\n"; }`,
      );
      try {
        await body(
          (name) =>
            run('curl', ['-sS', '-w', '%{http_code}', '--cacert', caFile(), '--cert', cert(name), '--key', key(name), `https://127.0.0.1:${nginx.port}/`])
              .stdout,
          nginx,
        );
      } finally {
        await nginx.stop();
      }
    } finally {
      site.cleanup();
    }
  };

  it('nginx with ssl_ocsp against the responder: a valid client gets 200, a revoked one is refused, without any CRL file', () =>
    withNginx(
      () => `    ssl_ocsp on;\n    ssl_ocsp_responder ${plainA}/ocsp/default;`,
      async (call, nginx) => {
        expect(call('alice')).toBe('hello CN=alice\n200');
        expect(call('carol').endsWith('200')).toBe(true);
        expect(call('bob').endsWith('400')).toBe(true);
        // Revoked through the server now: nginx's next handshake asks the responder and is refused.
        await revoke(a, 'carol', 'keyCompromise');
        expect(call('carol').endsWith('400')).toBe(true);
        expect(nginx.errorLog()).toMatch(/certificate revoked/);
        expect(call('alice').endsWith('200')).toBe(true);
      },
    ));

  it('nginx with ssl_crl fed from /crl/default.pem refuses a revoked client', () =>
    withNginx(
      (siteDir) => {
        expect(run('curl', ['-sS', '-f', '-o', join(siteDir, 'ca.crl.pem'), `${plainA}/crl/default.pem`]).status).toBe(0);
        return `    ssl_crl ${join(siteDir, 'ca.crl.pem')};`;
      },
      async (call, nginx) => {
        expect(call('alice')).toBe('hello CN=alice\n200');
        expect(call('bob').endsWith('400')).toBe(true);
        expect(nginx.errorLog()).toMatch(/certificate revoked/);
      },
    ));

  describe('bad input', () => {
    const post = (body: Buffer | string, contentType = 'application/ocsp-request') => httpsCall(a, 'POST', '/ocsp/default', { body, contentType });
    const ocspStatus = (der: Buffer) => {
      writeFileSync(join(dir, 'answer.der'), der);
      return run('openssl', ['ocsp', '-respin', join(dir, 'answer.der'), '-resp_text', '-noverify']).stdout;
    };

    it('malformed DER: HTTP 400 with a malformedRequest OCSP response', async () => {
      const r = await rawCall(a, 'POST', '/ocsp/default', Buffer.from('3003020101', 'hex'), 'application/ocsp-request');
      expect(r.status).toBe(400);
      expect(r.headers['content-type']).toBe('application/ocsp-response');
      expect(ocspStatus(r.body)).toMatch(/Responder Error: malformedrequest \(1\)/);
      const get = await rawCall(a, 'GET', '/ocsp/default/not*base64');
      expect(get.status).toBe(400);
      expect(ocspStatus(get.body)).toMatch(/malformedrequest/);
      const empty = await rawCall(a, 'POST', '/ocsp/default', Buffer.alloc(0), 'application/ocsp-request');
      expect(empty.status).toBe(400);
      expect(ocspStatus(empty.body)).toMatch(/malformedrequest/);
    });

    it('a certificate of another CA: unauthorized', () => {
      const other = tempDir('certctl-other-ca-');
      try {
        ok(other.dir, ['init', '--cn', 'Other CA']);
        writeFileSync(join(other.dir, 'ca.pem'), ok(other.dir, ['ca', 'show']).stdout);
        const r = run('openssl', ['ocsp', '-issuer', join(other.dir, 'ca.pem'), '-serial', '0x01', '-CAfile', caFile(), '-url', `${a.url}/ocsp/default`]);
        expect(`${r.stdout}${r.stderr}`).toMatch(/Responder Error: unauthorized \(6\)/);
      } finally {
        other.cleanup();
      }
    });

    it('wrong content type 415, oversized 413, unknown CA 404: problem documents', async () => {
      const wrong = await post('{"serial":"01"}', 'application/json');
      expect(wrong.status).toBe(415);
      expect(wrong.body).toMatchObject({ status: 415, code: 'invalid_input' });
      validate('/ocsp/{ca}', 'post', wrong);
      const big = await post(Buffer.alloc(64 * 1024, 0x30));
      expect(big.status).toBe(413);
      expect(big.body).toMatchObject({ status: 413, code: 'invalid_input' });
      validate('/ocsp/{ca}', 'post', big);
      for (const [path, documented] of [
        ['/ocsp/nope/MAMCAQE%3D', '/ocsp/{ca}/{*}'],
        ['/crl/nope.crl', '/crl/{ca}.crl'],
        ['/crl/nope.pem', '/crl/{ca}.pem'],
      ]) {
        const missing = await httpsCall(a, 'GET', path);
        expect(missing.status).toBe(404);
        expect(missing.body).toMatchObject({ status: 404, code: 'not_found' });
        validate(documented, 'get', missing);
      }
      const missingPost = await httpsCall(a, 'POST', '/ocsp/nope', { body: Buffer.from('3003020101', 'hex'), contentType: 'application/ocsp-request' });
      expect(missingPost.status).toBe(404);
    });

    it('documents the routes in /openapi.json, binary bodies as format: binary', async () => {
      const doc = (await httpsCall(a, 'GET', '/openapi.json')).body;
      expect(doc.paths['/crl/{ca}.crl'].get.responses['200'].content['application/pkix-crl'].schema).toMatchObject({ type: 'string', format: 'binary' });
      expect(doc.paths['/ocsp/{ca}'].post.requestBody.content['application/ocsp-request'].schema).toMatchObject({ format: 'binary' });
      expect(doc.paths['/ocsp/{ca}/{*}'].get.responses['200'].content['application/ocsp-response'].schema).toMatchObject({ format: 'binary' });
      expect(doc.paths['/ocsp/{ca}'].post.responses['404'].content['application/json'].schema).toBeDefined();
    });
  });
});

/** One HTTPS call keeping the body as bytes (httpsCall decodes it as text). */
async function rawCall(server: ServeProcess, method: string, path: string, body?: Buffer, contentType?: string) {
  const { request } = await import('node:https');
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }>((resolve, reject) => {
    const req = request(
      `${server.url}${path}`,
      { method, ca: readFileSync(server.caFile), headers: body ? { 'content-type': contentType ?? '', 'content-length': String(body.length) } : {} },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
