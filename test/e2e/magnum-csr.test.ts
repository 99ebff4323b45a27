/**
 * End to end: the OpenStack Magnum client-certificate flow (openssl makes the key and
 * CSR, the CA signs it, the CA certificate is fetched), with certctl as the CA.
 */

import { X509Certificate, createPublicKey } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { certctl, run, tempDir, type CliResult, requireTool, requireBuiltCli, ok } from '../support/cli';

jest.setTimeout(120000);

function openssl(cwd: string, args: string[]): CliResult {
  const r = run('openssl', args, { cwd });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} exited ${r.status}\n${r.stderr}`);
  return r;
}

/** Exactly one PEM certificate and nothing else: the output is redirected into a .crt file. */
const SINGLE_PEM_CERT = /^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----\n$/;

const EKU_SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const EKU_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

/** The client.conf of Magnum's documentation, verbatim apart from layout. */
const MAGNUM_CLIENT_CONF = `[req]
distinguished_name = req_distinguished_name
req_extensions     = req_ext
x509_extensions    = req_ext
prompt = no
[req_distinguished_name]
CN = Your Name
[req_ext]
extendedKeyUsage = clientAuth
`;

describe('Magnum CSR flow: openssl CSR signed by `certctl sign`', () => {
  let dir: string;
  let cleanup: () => void;
  let inventoryBefore: number;

  beforeAll(() => {
    requireBuiltCli();
    requireTool('openssl', ['version']);
    ({ dir, cleanup } = tempDir('certctl-e2e-magnum-'));
    ok(dir, ['init', '--cn', 'certctl e2e magnum root']);

    // The seed flow, step by step.
    openssl(dir, ['genrsa', '-out', 'client.key', '4096']);
    writeFileSync(join(dir, 'client.conf'), MAGNUM_CLIENT_CONF);
    openssl(dir, [
      'req',
      '-new',
      '-days',
      '365',
      '-config',
      'client.conf',
      '-reqexts',
      'req_ext',
      '-extensions',
      'req_ext',
      '-key',
      'client.key',
      '-out',
      'client.csr',
    ]);
    // certctl sign --csr client.csr > client.crt ; certctl ca show > ca.crt
    const signed = ok(dir, ['sign', '--csr', 'client.csr']);
    writeFileSync(join(dir, 'client.crt'), signed.stdout);
    const caShow = ok(dir, ['ca', 'show']);
    writeFileSync(join(dir, 'ca.crt'), caShow.stdout);
    inventoryBefore = ok(dir, ['list', '--json']).json!.result.length;
  });

  afterAll(() => cleanup?.());

  test('sign and ca show print exactly one PEM certificate on stdout (safe to redirect)', () => {
    expect(readFileSync(join(dir, 'client.crt'), 'utf8')).toMatch(SINGLE_PEM_CERT);
    expect(readFileSync(join(dir, 'ca.crt'), 'utf8')).toMatch(SINGLE_PEM_CERT);
  });

  test('openssl verify -CAfile ca.crt client.crt passes, for TLS client use', () => {
    const r = run('openssl', ['verify', '-CAfile', 'ca.crt', '-purpose', 'sslclient', 'client.crt'], { cwd: dir });
    expect(r.stdout.trim()).toBe('client.crt: OK');
    expect(r.status).toBe(0);
  });

  test('the certificate has CN "Your Name", EKU clientAuth only, and is not a CA', () => {
    const cert = new X509Certificate(readFileSync(join(dir, 'client.crt')));
    expect(cert.subject).toBe('CN=Your Name');
    expect(cert.keyUsage).toEqual([EKU_CLIENT_AUTH]);
    expect(cert.ca).toBe(false);
    const text = openssl(dir, ['x509', '-in', 'client.crt', '-noout', '-ext', 'extendedKeyUsage,basicConstraints']).stdout;
    expect(text).toMatch(/TLS Web Client Authentication/);
    expect(text).not.toMatch(/TLS Web Server Authentication/);
    expect(text).toMatch(/CA:FALSE/);
  });

  test('the certificate carries the CSR key (the 4096-bit RSA key from genrsa)', () => {
    const cert = new X509Certificate(readFileSync(join(dir, 'client.crt')));
    const key = createPublicKey(readFileSync(join(dir, 'client.key')));
    expect(cert.publicKey.export({ format: 'der', type: 'spki' })).toEqual(key.export({ format: 'der', type: 'spki' }));
    expect(cert.publicKey.asymmetricKeyDetails?.modulusLength).toBe(4096);
    expect(cert.checkIssued(new X509Certificate(readFileSync(join(dir, 'ca.crt'))))).toBe(true);
  });

  test('the CSR-signed certificate is in the inventory without a key', () => {
    const serial = openssl(dir, ['x509', '-in', 'client.crt', '-noout', '-serial'])
      .stdout.trim()
      .replace(/^serial=/, '');
    const shown = ok(dir, ['show', serial, '--json']).json!.result;
    expect(shown.profile).toBe('client');
    expect(shown.commonName).toBe('Your Name');
    expect(shown.hasKey).toBe(false);
  });

  test('the signed certificate works as a client certificate in a real TLS handshake', async () => {
    ok(dir, ['issue', 'server', '--cn', 'localhost', '--dns', 'localhost', '--ip', '127.0.0.1', '--out', 'server']);
    const ca = readFileSync(join(dir, 'ca.crt'), 'utf8');
    const server = tls.createServer(
      {
        cert: readFileSync(join(dir, 'server', 'cert.pem')),
        key: readFileSync(join(dir, 'server', 'key.pem')),
        ca,
        requestCert: true,
        rejectUnauthorized: true,
      },
      (socket) => socket.end(JSON.stringify({ authorized: socket.authorized, cn: socket.getPeerCertificate().subject?.CN })),
    );
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res()));
    try {
      const { port } = server.address() as AddressInfo;
      const answer = await new Promise<string>((resolve, reject) => {
        let data = '';
        const socket = tls.connect({
          host: '127.0.0.1',
          port,
          servername: 'localhost',
          ca,
          cert: readFileSync(join(dir, 'client.crt')),
          key: readFileSync(join(dir, 'client.key')),
        });
        const timer = setTimeout(() => socket.destroy(new Error('timeout')), 15000);
        socket.setEncoding('utf8');
        socket.on('data', (d) => (data += d));
        socket.on('end', () => {
          clearTimeout(timer);
          resolve(data);
        });
        socket.on('error', (e: Error) => {
          clearTimeout(timer);
          reject(e);
        });
      });
      expect(JSON.parse(answer)).toEqual({ authorized: true, cn: 'Your Name' });
    } finally {
      await new Promise<void>((res) => server.close(() => res()));
    }
  });

  describe('server CSR with subjectAltNames, --profile server', () => {
    let result: CliResult;

    beforeAll(() => {
      openssl(dir, [
        'req',
        '-new',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        'server.key',
        '-subj',
        '/CN=api.example.com',
        '-addext',
        'subjectAltName=DNS:api.example.com,DNS:www.example.com,IP:10.1.2.3',
        '-out',
        'server.csr',
      ]);
      result = certctl(dir, ['sign', '--csr', 'server.csr', '--profile', 'server']);
      writeFileSync(join(dir, 'server.crt'), result.stdout);
    });

    test('is signed', () => {
      expect(result.stderr).not.toMatch(/^certctl: /m);
      expect(result.status).toBe(0);
      expect(result.stdout).toMatch(SINGLE_PEM_CERT);
    });

    test('carries the requested SANs and EKU serverAuth', () => {
      const cert = new X509Certificate(readFileSync(join(dir, 'server.crt')));
      expect(cert.subject).toBe('CN=api.example.com');
      expect(cert.subjectAltName).toBe('DNS:api.example.com, DNS:www.example.com, IP Address:10.1.2.3');
      expect(cert.keyUsage).toEqual([EKU_SERVER_AUTH]);
      const key = createPublicKey(readFileSync(join(dir, 'server.key')));
      expect(cert.publicKey.export({ format: 'der', type: 'spki' })).toEqual(key.export({ format: 'der', type: 'spki' }));
    });

    test('openssl verifies it as a TLS server certificate for each SAN', () => {
      for (const check of [
        ['-verify_hostname', 'api.example.com'],
        ['-verify_hostname', 'www.example.com'],
        ['-verify_ip', '10.1.2.3'],
      ]) {
        const r = run('openssl', ['verify', '-CAfile', 'ca.crt', '-purpose', 'sslserver', ...check, 'server.crt'], { cwd: dir });
        expect({ check, out: r.stdout.trim(), status: r.status }).toEqual({ check, out: 'server.crt: OK', status: 0 });
      }
      const wrong = run('openssl', ['verify', '-CAfile', 'ca.crt', '-verify_hostname', 'evil.example.com', 'server.crt'], { cwd: dir });
      expect(wrong.status).not.toBe(0);
    });

    test('a server CSR without any SAN is refused by the server profile (exit 5)', () => {
      openssl(dir, ['req', '-new', '-key', 'server.key', '-subj', '/CN=nosan', '-out', 'nosan.csr']);
      const r = certctl(dir, ['sign', '--csr', 'nosan.csr', '--profile', 'server']);
      expect(r.status).toBe(5);
      expect(r.stdout).toBe('');
    });
  });

  describe('a CSR asking for CA:true', () => {
    beforeAll(() => {
      writeFileSync(
        join(dir, 'ca-req.conf'),
        '[req]\ndistinguished_name = dn\nreq_extensions = ext\nprompt = no\n[dn]\nCN = sneaky sub-CA\n[ext]\nbasicConstraints = critical,CA:true\nkeyUsage = critical,keyCertSign,cRLSign\n',
      );
      openssl(dir, ['req', '-new', '-config', 'ca-req.conf', '-key', 'client.key', '-out', 'ca-req.csr']);
    });

    test('is refused with exit 5 and a message naming basicConstraints / CA', () => {
      const r = certctl(dir, ['sign', '--csr', 'ca-req.csr']);
      expect(r.status).toBe(5);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/basicConstraints/);
      expect(r.stderr).toMatch(/\bCA\b/);
    });

    test('is refused under every profile, and as JSON with code policy_violation', () => {
      for (const profile of ['client', 'server', 'peer', 'node']) {
        const r = certctl(dir, ['--json', 'sign', '--csr', 'ca-req.csr', '--profile', profile]);
        expect({ profile, status: r.status }).toEqual({ profile, status: 5 });
        expect(r.json).toMatchObject({ status: 5, error: { code: 'policy_violation' } });
        expect(r.json!.error!.message).toMatch(/basicConstraints/);
      }
    });

    test('nothing was added to the inventory by the refusals', () => {
      // beforeAll signed client.crt; the server describe issued two more.
      const after = ok(dir, ['list', '--json']).json!.result as Array<{ commonName: string }>;
      expect(after.map((c) => c.commonName)).not.toContain('sneaky sub-CA');
      expect(after.length).toBe(inventoryBefore + 2);
    });
  });
});
