/**
 * End to end: certctl's certificates checked by verifiers that share no code with
 * certctl or OpenSSL: pyca/cryptography's path validation (tools/verify_chain.py)
 * and zlint (tools/zlint-check.sh).
 *
 * Names in the linted certificates use a public TLD (example.com) and no reserved IP
 * addresses: zlint-check keeps the CA/Browser Forum lints that are fair for a private
 * CA, and e_dnsname_not_valid_tld / e_ext_san_contains_reserved_ip are excluded there
 * only for the *private* names (localhost, 10.x, .internal) that certctl must allow;
 * using public-looking names here gives the remaining lints a fair chance to fire
 * on anything else. Certificates with localhost / 127.0.0.1 are only path-validated.
 */

import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { run, tempDir, requireTool, requireBuiltCli, ok } from '../support/cli';

jest.setTimeout(300000);

const REPO = resolve(__dirname, '..', '..');
const VERIFY_CHAIN = join(REPO, 'tools', 'verify_chain.py');
const ZLINT_CHECK = join(REPO, 'tools', 'zlint-check.sh');
const INSTALL_ZLINT = join(REPO, 'tools', 'install-zlint.sh');

interface ChainVerdict {
  status: number;
  ok: boolean | undefined;
  chainLength?: number;
  error?: string;
}

/** python3 tools/verify_chain.py …, its JSON verdict and exit status. */
function verifyChain(cwd: string, args: string[]): ChainVerdict {
  const r = run('python3', [VERIFY_CHAIN, ...args], { cwd });
  let parsed: { ok?: boolean; chain_length?: number; error?: string } = {};
  try {
    parsed = JSON.parse(r.stdout);
  } catch {
    throw new Error(`verify_chain.py printed no JSON (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  }
  return { status: r.status, ok: parsed.ok, chainLength: parsed.chain_length, error: parsed.error };
}

/** tools/zlint-check.sh FILE…: exit status and the warn/error/fatal lines it printed. */
function zlintCheck(cwd: string, files: string[]): { status: number; findings: string[]; stderr: string } {
  const r = run(ZLINT_CHECK, files, { cwd, timeout: 600000 });
  const findings = r.stdout.split('\n').filter((l) => /: (warn|error|fatal) /.test(l));
  return { status: r.status, findings, stderr: r.stderr.trim() };
}

describe('independent verifiers', () => {
  let dir: string;
  let cleanup: () => void;
  let otherDir: string;
  let otherCleanup: () => void;

  beforeAll(() => {
    requireBuiltCli();
    requireTool('openssl', ['version']);
    requireTool('python3', ['--version']);
    if (!existsSync(VERIFY_CHAIN)) throw new Error(`${VERIFY_CHAIN} is missing`);
    if (!existsSync(ZLINT_CHECK)) throw new Error(`${ZLINT_CHECK} is missing`);
    const crypto = run('python3', ['-c', 'import cryptography.x509.verification, cryptography; print(cryptography.__version__)']);
    if (crypto.status !== 0) throw new Error(`python3 needs the cryptography package (>= 45) with x509.verification:\n${crypto.stderr}`);
    // zlint is built once into .cache/bin by the script (may take minutes the first time).
    const zl = run(INSTALL_ZLINT, [], { cwd: REPO, timeout: 600000 });
    if (zl.status !== 0) throw new Error(`tools/install-zlint.sh failed (zlint is required):\n${zl.stderr}`);

    ({ dir, cleanup } = tempDir('certctl-e2e-verifiers-'));
    ({ dir: otherDir, cleanup: otherCleanup } = tempDir('certctl-e2e-verifiers-other-'));

    ok(dir, ['init', '--cn', 'certctl e2e verifiers root']);
    writeFileSync(join(dir, 'root.pem'), ok(dir, ['ca', 'show']).stdout);
    ok(dir, ['issue', 'server', '--cn', 'api.example.com', '--dns', 'api.example.com', '--dns', 'www.example.com', '--out', 'server']);
    ok(dir, ['issue', 'client', '--cn', 'alice', '--out', 'client']);
    ok(dir, ['issue', 'peer', '--cn', 'etcd-0.example.com', '--dns', 'etcd-0.example.com', '--out', 'peer']);
    ok(dir, ['issue', 'node', '--out', 'node']);
    // Key types other than the default P-256 under the same root.
    ok(dir, ['issue', 'server', '--cn', 'rsa.example.com', '--dns', 'rsa.example.com', '--key-type', 'rsa-2048', '--out', 'server-rsa']);
    ok(dir, ['issue', 'server', '--cn', 'p384.example.com', '--dns', 'p384.example.com', '--key-type', 'ec-p384', '--out', 'server-p384']);
    ok(dir, ['issue', 'server', '--cn', 'ed.example.com', '--dns', 'ed.example.com', '--key-type', 'ed25519', '--out', 'server-ed25519']);
    // Private names: path validation only, never linted (see the header comment).
    ok(dir, ['issue', 'server', '--cn', 'localhost', '--dns', 'localhost', '--ip', '127.0.0.1', '--out', 'server-local']);

    ok(dir, ['--ca', 'inter', 'init', '--cn', 'certctl e2e verifiers intermediate', '--parent', 'default']);
    writeFileSync(join(dir, 'intermediate.pem'), ok(dir, ['--ca', 'inter', 'ca', 'show']).stdout);
    ok(dir, ['--ca', 'inter', 'issue', 'server', '--cn', 'inter.example.com', '--dns', 'inter.example.com', '--out', 'inter-server']);
    ok(dir, ['--ca', 'inter', 'issue', 'client', '--cn', 'bob', '--out', 'inter-client']);
    ok(dir, ['--ca', 'inter', 'issue', 'peer', '--cn', 'etcd-1.example.com', '--dns', 'etcd-1.example.com', '--out', 'inter-peer']);
    ok(dir, ['--ca', 'inter', 'issue', 'node', '--out', 'inter-node']);

    // Other root key types (the ECDSA hash must follow the issuer's curve: P-384 → SHA-384).
    ok(dir, ['--ca', 'p384', 'init', '--cn', 'certctl e2e P-384 root', '--key-type', 'ec-p384']);
    ok(dir, ['--ca', 'p384', 'issue', 'server', '--cn', 'p384root.example.com', '--dns', 'p384root.example.com', '--out', 'p384root-server']);
    ok(dir, ['--ca', 'rsa', 'init', '--cn', 'certctl e2e RSA root', '--key-type', 'rsa-3072']);
    ok(dir, ['--ca', 'rsa', 'issue', 'client', '--cn', 'carol', '--out', 'rsaroot-client']);

    writeFileSync(join(dir, 'root.crl'), ok(dir, ['crl']).stdout);
    writeFileSync(join(dir, 'inter.crl'), ok(dir, ['--ca', 'inter', 'crl']).stdout);

    ok(otherDir, ['init', '--cn', 'certctl e2e verifiers root']); // same name, another key
    ok(otherDir, ['issue', 'server', '--cn', 'api.example.com', '--dns', 'api.example.com', '--out', 'server']);
  });

  afterAll(() => {
    cleanup?.();
    otherCleanup?.();
  });

  describe('pyca/cryptography path validation (tools/verify_chain.py)', () => {
    test.each([
      ['server', 'api.example.com'],
      ['server', 'www.example.com'],
      ['server-rsa', 'rsa.example.com'],
      ['server-p384', 'p384.example.com'],
      ['server-ed25519', 'ed.example.com'],
      ['server-local', 'localhost'],
      ['server-local', '127.0.0.1'],
      ['peer', 'etcd-0.example.com'],
      ['p384root-server', 'p384root.example.com'],
    ])('%s verifies as a TLS server for %s', (out, name) => {
      expect(verifyChain(dir, ['--ca', `${out}/ca.pem`, '--leaf', `${out}/cert.pem`, '--server-name', name])).toEqual({
        status: 0,
        ok: true,
        chainLength: 2,
        error: undefined,
      });
    });

    // Client and node certificates carry no SAN (the CN is the identity); the Web PKI
    // profile of cryptography insists on one, which --allow-missing-san relaxes.
    test.each([
      ['client', ['--allow-missing-san']],
      ['node', ['--allow-missing-san']],
      ['rsaroot-client', ['--allow-missing-san']],
      ['peer', []],
    ])('%s verifies as a TLS client', (out, extra) => {
      expect(verifyChain(dir, ['--ca', `${out}/ca.pem`, '--leaf', `${out}/cert.pem`, '--client', ...extra])).toEqual({
        status: 0,
        ok: true,
        chainLength: 2,
        error: undefined,
      });
    });

    test.each([
      ['inter-server', ['--server-name', 'inter.example.com']],
      ['inter-peer', ['--server-name', 'etcd-1.example.com']],
      ['inter-peer', ['--client']],
      ['inter-client', ['--client', '--allow-missing-san']],
      ['inter-node', ['--client', '--allow-missing-san']],
    ])('%s verifies through the intermediate (%j)', (out, mode) => {
      // ca.pem is the root; the intermediate comes from `ca show` of the intermediate CA…
      expect(verifyChain(dir, ['--ca', `${out}/ca.pem`, '--intermediate', 'intermediate.pem', '--leaf', `${out}/cert.pem`, ...mode])).toMatchObject({
        status: 0,
        ok: true,
        chainLength: 3,
      });
      // …or from chain.pem (leaf + intermediate), as a TLS peer would send it.
      expect(verifyChain(dir, ['--ca', `${out}/ca.pem`, '--leaf', `${out}/chain.pem`, ...mode])).toMatchObject({ status: 0, ok: true, chainLength: 3 });
    });

    test('a leaf of the intermediate does not verify without it', () => {
      expect(verifyChain(dir, ['--ca', 'root.pem', '--leaf', 'inter-server/cert.pem', '--server-name', 'inter.example.com'])).toMatchObject({
        status: 1,
        ok: false,
      });
    });

    test('the verifier is not a rubber stamp: wrong name, wrong EKU, wrong CA all fail', () => {
      expect(verifyChain(dir, ['--ca', 'root.pem', '--leaf', 'server/cert.pem', '--server-name', 'evil.example.com'])).toMatchObject({ status: 1, ok: false });
      // a serverAuth-only certificate is not a client certificate, and vice versa
      expect(verifyChain(dir, ['--ca', 'root.pem', '--leaf', 'server/cert.pem', '--client'])).toMatchObject({ status: 1, ok: false });
      expect(verifyChain(dir, ['--ca', 'root.pem', '--leaf', 'inter-client/chain.pem', '--server-name', 'bob'])).toMatchObject({ status: 1, ok: false });
      // same CA name, different key
      expect(verifyChain(dir, ['--ca', 'root.pem', '--leaf', join(otherDir, 'server', 'cert.pem'), '--server-name', 'api.example.com'])).toMatchObject({
        status: 1,
        ok: false,
      });
    });
  });

  describe('zlint (tools/zlint-check.sh)', () => {
    test.each([
      ['root CA', 'root.pem'],
      ['intermediate CA', 'intermediate.pem'],
      ['P-384 root CA', 'p384root-server/ca.pem'],
      ['RSA root CA', 'rsaroot-client/ca.pem'],
      ['server', 'server/cert.pem'],
      ['client', 'client/cert.pem'],
      ['peer', 'peer/cert.pem'],
      ['node', 'node/cert.pem'],
      ['server, RSA-2048 key', 'server-rsa/cert.pem'],
      ['server, P-384 key under a P-256 CA', 'server-p384/cert.pem'],
      ['server, Ed25519 key', 'server-ed25519/cert.pem'],
      ['server under the P-384 root', 'p384root-server/cert.pem'],
      ['client under the RSA root', 'rsaroot-client/cert.pem'],
      ['server under the intermediate', 'inter-server/cert.pem'],
      ['client under the intermediate', 'inter-client/cert.pem'],
      ['peer under the intermediate', 'inter-peer/cert.pem'],
      ['node under the intermediate', 'inter-node/cert.pem'],
      ['root CRL', 'root.crl'],
      ['intermediate CRL', 'inter.crl'],
    ])('%s has no zlint error or warning', (_what, file) => {
      expect(zlintCheck(dir, [file])).toEqual({ status: 0, findings: [], stderr: '' });
    });

    test('control: zlint-check does fail a certificate with a known defect', () => {
      // An EC key with keyEncipherment is an RFC 8813 error (e_ecdsa_allowed_ku).
      const r = run(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:P-256',
          '-nodes',
          '-keyout',
          'bad.key',
          '-subj',
          '/CN=bad.example.com',
          '-days',
          '30',
          '-out',
          'bad.pem',
          '-addext',
          'basicConstraints=critical,CA:FALSE',
          '-addext',
          'keyUsage=critical,digitalSignature,keyEncipherment',
          '-addext',
          'subjectAltName=DNS:bad.example.com',
        ],
        { cwd: dir },
      );
      expect(r.status).toBe(0);
      const z = zlintCheck(dir, ['bad.pem']);
      expect(z.status).toBe(1);
      expect(z.findings.join('\n')).toMatch(/e_ecdsa_allowed_ku/);
    });
  });
});
