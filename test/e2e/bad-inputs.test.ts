/**
 * Malformed and hostile inputs against the built CLI (DESIGN.md "Errors and exit codes",
 * "Configuration"). Every case must:
 *  - exit with the documented code, and say so in `--json` ({"status", "error": {"code", "message"}});
 *  - name the offending thing in its message, print that message on stderr, and show no stack trace;
 *  - leak no secret (passphrases, passwords, PRIVATE KEY PEM) on stdout or stderr;
 *  - leave the store byte-for-byte unchanged (audit.jsonl included: it may only grow on success),
 *    with no temp/partial files or locks left anywhere, and write nothing to --out.
 */
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { certctl, run, tempDir, type CliResult } from '../support/cli';

const CODES: Record<number, string> = {
  1: 'internal',
  2: 'invalid_input',
  3: 'invalid_config',
  4: 'not_found',
  5: 'policy_violation',
  6: 'backend_unavailable',
  7: 'backend_auth',
  8: 'conflict',
  9: 'not_supported',
};

const CONFIG = `backend: file
file: { dir: ./pki }
profiles:
  server: { max_ttl: 398d, allowed_dns: ["*.internal.example", "localhost"], allowed_ips: ["10.0.0.0/8", "127.0.0.1/32"], allowed_key_types: [ec-p256, rsa-2048] }
`;

const PASSPHRASE = 'correct-horse-PASSPHRASE-7f3a91';
const WRONG_PASSPHRASE = 'wrong-horse-PASSPHRASE-0b1c22';
const ENV_WRONG_PASSPHRASE = 'env-wrong-PASSPHRASE-55aa6e';
const P12_PASSWORD = 'p12-PASSWORD-9d2e4410';

/** Everything the cases need, known only after setup. */
interface Fixtures {
  ws: string;
  /** A fresh, not-yet-existing --out path for this case (relative to the workspace). */
  out: string;
  /** A valid server certificate with its key in the store. */
  serverSerial: string;
  /** An already revoked client certificate. */
  revokedSerial: string;
  /** A certificate signed from a CSR: the store holds no key. */
  csrSerial: string;
  /** A well-formed serial no certificate has. */
  unknownSerial: string;
}

interface Case {
  name: string;
  args: (f: Fixtures) => string[];
  status: number;
  /** A substring (or pattern) of the error message that names the offending input. */
  mention: string | RegExp | ((f: Fixtures) => string);
  env?: Record<string, string>;
  input?: (f: Fixtures) => string;
  /** The case writes to f.out: afterwards it must not exist or be an empty directory. */
  usesOut?: boolean;
}

const KNOWN_CAS = ['default', 'locked', 'short'];

const cases: Case[] = [
  // ---- sign: malformed and hostile CSRs ------------------------------------------------------
  { name: 'sign: truncated CSR (DER cut in half, END line kept)', args: () => ['sign', '--csr', 'truncated.csr'], status: 2, mention: 'truncated.csr' },
  { name: 'sign: truncated CSR (END line missing)', args: () => ['sign', '--csr', 'no-end.csr'], status: 2, mention: 'no-end.csr' },
  { name: 'sign: CSR with garbage base64', args: () => ['sign', '--csr', 'garbage.csr'], status: 2, mention: 'garbage.csr' },
  { name: 'sign: CSR whose signature is broken', args: () => ['sign', '--csr', 'badsig.csr'], status: 2, mention: 'signature' },
  { name: 'sign: CSR asking for CA:true', args: () => ['sign', '--csr', 'ca-true.csr'], status: 5, mention: 'CA:true' },
  { name: 'sign: CSR with an RSA-1024 key', args: () => ['sign', '--csr', 'rsa1024.csr'], status: 5, mention: '1024' },
  { name: 'sign: CSR with a DSA key', args: () => ['sign', '--csr', 'dsa.csr'], status: 5, mention: 'DSA' },
  {
    name: 'sign: CSR with a DNS SAN outside allowed_dns',
    args: () => ['sign', '--csr', 'evil-san.csr', '--profile', 'server'],
    status: 5,
    mention: 'evil.example.com',
  },
  { name: 'sign: CSR with an email SAN', args: () => ['sign', '--csr', 'email-san.csr'], status: 5, mention: 'email' },
  { name: 'sign: --csr file missing', args: () => ['sign', '--csr', 'missing.csr'], status: 2, mention: 'missing.csr' },
  {
    name: 'sign: a private key piped in as the CSR (must not be echoed)',
    args: () => ['sign', '--csr', '-'],
    input: (f) => readFileSync(join(f.ws, 'ec.key'), 'utf8'),
    status: 2,
    mention: '--csr',
  },
  { name: 'sign: a certificate given as the CSR', args: () => ['sign', '--csr', 'a-cert.pem'], status: 2, mention: 'a-cert.pem' },
  { name: 'sign: empty stdin as the CSR', args: () => ['sign', '--csr', '-'], input: () => '', status: 2, mention: '--csr' },
  { name: 'sign: --csr is a directory', args: () => ['sign', '--csr', 'a-dir'], status: 2, mention: 'a-dir' },
  { name: 'sign: CSR with a P-521 key', args: () => ['sign', '--csr', 'p521.csr'], status: 5, mention: 'secp521r1' },
  { name: 'sign: unknown --profile', args: () => ['sign', '--csr', 'good.csr', '--profile', 'bogus'], status: 2, mention: 'bogus' },
  { name: 'sign: --ttl beyond the profile max', args: () => ['sign', '--csr', 'good.csr', '--ttl', '5000d'], status: 5, mention: 'max_ttl' },

  // ---- issue: names, TTLs, key types, formats -------------------------------------------------
  {
    name: 'issue server: --dns outside allowed_dns',
    args: (f) => ['issue', 'server', '--cn', 'www.internal.example', '--dns', 'evil.example.com', '--out', f.out],
    usesOut: true,
    status: 5,
    mention: 'evil.example.com',
  },
  {
    name: 'issue server: --ip outside allowed_ips',
    args: (f) => ['issue', 'server', '--cn', 'www.internal.example', '--ip', '192.168.1.10', '--out', f.out],
    usesOut: true,
    status: 5,
    mention: '192.168.1.10',
  },
  {
    name: 'issue server: IPv6 --ip outside allowed_ips',
    args: (f) => ['issue', 'server', '--cn', 'www.internal.example', '--ip', 'fd00::1', '--out', f.out],
    usesOut: true,
    status: 5,
    mention: 'fd00::1',
  },
  {
    name: 'issue server: malformed --ip',
    args: (f) => ['issue', 'server', '--cn', 'www.internal.example', '--ip', '999.1.1.1', '--out', f.out],
    usesOut: true,
    status: 2,
    mention: '999.1.1.1',
  },
  {
    name: 'issue server: malformed --dns',
    args: (f) => ['issue', 'server', '--cn', 'www.internal.example', '--dns', 'bad_name!', '--out', f.out],
    usesOut: true,
    status: 2,
    mention: 'bad_name!',
  },
  {
    name: 'issue server: double wildcard --dns',
    args: (f) => ['issue', 'server', '--cn', 'x.internal.example', '--dns', '*.*.internal.example', '--out', f.out],
    usesOut: true,
    status: 2,
    mention: '*.*.internal.example',
  },
  {
    name: 'issue server: no DNS or IP SAN at all',
    args: (f) => ['issue', 'server', '--cn', 'nosan', '--out', f.out],
    usesOut: true,
    status: 5,
    mention: 'subject alternative name',
  },
  {
    name: 'issue server: --ttl beyond profiles.server.max_ttl',
    args: (f) => ['issue', 'server', '--cn', 'www.internal.example', '--ttl', '500d', '--out', f.out],
    usesOut: true,
    status: 5,
    mention: 'profiles.server.max_ttl',
  },
  {
    name: "issue client: --ttl beyond the CA's own expiry",
    args: (f) => ['--config', 'long-ttl.yaml', '--ca', 'short', 'issue', 'client', '--cn', 'bob', '--ttl', '60d', '--out', f.out],
    usesOut: true,
    status: 5,
    mention: /outlive the CA/,
  },
  { name: 'issue: --ttl abc', args: (f) => ['issue', 'client', '--cn', 'bob', '--ttl', 'abc', '--out', f.out], usesOut: true, status: 2, mention: 'abc' },
  { name: 'issue: --ttl 0d', args: (f) => ['issue', 'client', '--cn', 'bob', '--ttl', '0d', '--out', f.out], usesOut: true, status: 2, mention: '--ttl' },
  {
    name: 'issue: --key-type rsa-1024',
    args: (f) => ['issue', 'client', '--cn', 'bob', '--key-type', 'rsa-1024', '--out', f.out],
    usesOut: true,
    status: 2,
    mention: 'rsa-1024',
  },
  {
    name: 'issue server: --key-type not allowed by the profile',
    args: (f) => ['issue', 'server', '--cn', 'www.internal.example', '--key-type', 'ed25519', '--out', f.out],
    usesOut: true,
    status: 5,
    mention: 'ed25519',
  },
  { name: 'issue: unknown profile', args: (f) => ['issue', 'bogus', '--cn', 'bob', '--out', f.out], usesOut: true, status: 2, mention: 'bogus' },
  {
    name: 'issue: unknown --format',
    args: (f) => ['issue', 'client', '--cn', 'bob', '--format', 'zip', '--out', f.out],
    usesOut: true,
    status: 2,
    mention: 'zip',
  },
  {
    name: 'issue: --format p12 without a password',
    args: (f) => ['issue', 'client', '--cn', 'bob', '--format', 'p12', '--out', f.out],
    usesOut: true,
    status: 2,
    mention: 'password',
  },
  {
    name: 'issue: --format p12 with a missing --password-file',
    args: (f) => ['issue', 'client', '--cn', 'bob', '--format', 'p12', '--password-file', 'no-such-pw.txt', '--out', f.out],
    usesOut: true,
    status: 2,
    mention: 'no-such-pw.txt',
  },
  {
    name: 'issue: --password-file is a directory',
    args: (f) => ['issue', 'client', '--cn', 'bob', '--format', 'p12', '--password-file', 'a-dir', '--out', f.out],
    usesOut: true,
    status: 2,
    mention: 'a-dir',
  },
  { name: 'issue: --count 0', args: (f) => ['issue', 'node', '--count', '0', '--out', f.out], usesOut: true, status: 2, mention: '--count' },
  { name: 'issue: --count abc', args: (f) => ['issue', 'node', '--count', 'abc', '--out', f.out], usesOut: true, status: 2, mention: '--count' },
  {
    name: 'issue: --count 2 with one server CN',
    args: (f) => ['issue', 'server', '--cn', 'www.internal.example', '--count', '2', '--out', f.out],
    usesOut: true,
    status: 2,
    mention: '--count',
  },
  {
    name: 'issue: CN longer than 64 characters',
    args: (f) => ['issue', 'client', '--cn', 'x'.repeat(65), '--out', f.out],
    usesOut: true,
    status: 2,
    mention: '64',
  },
  { name: 'issue client: missing --cn', args: (f) => ['issue', 'client', '--out', f.out], usesOut: true, status: 2, mention: '--cn' },
  { name: 'issue: --format without --out', args: () => ['issue', 'client', '--cn', 'bob', '--format', 'docker'], status: 2, mention: '--out' },
  { name: 'issue: unknown option', args: (f) => ['issue', 'client', '--cn', 'bob', '--bogus', '--out', f.out], usesOut: true, status: 2, mention: '--bogus' },
  { name: 'issue: --out is an existing regular file', args: () => ['issue', 'client', '--cn', 'bob', '--out', 'a-file.txt'], status: 2, mention: 'a-file.txt' },
  { name: 'issue: --out holds a directory named cert.pem', args: () => ['issue', 'client', '--cn', 'bob', '--out', 'trap'], status: 2, mention: 'cert.pem' },
  {
    name: 'issue: --ca names a CA that does not exist',
    args: (f) => ['--ca', 'nope', 'issue', 'client', '--cn', 'bob', '--out', f.out],
    usesOut: true,
    status: 4,
    mention: 'nope',
  },

  // ---- the encrypted CA key -------------------------------------------------------------------
  {
    name: 'encrypted CA: no passphrase',
    args: (f) => ['--ca', 'locked', 'issue', 'client', '--cn', 'bob', '--out', f.out],
    usesOut: true,
    status: 2,
    mention: 'passphrase',
  },
  {
    name: 'encrypted CA: wrong passphrase in --passphrase-file',
    args: (f) => ['--ca', 'locked', '--passphrase-file', 'wrong-pass.txt', 'issue', 'client', '--cn', 'bob', '--out', f.out],
    usesOut: true,
    status: 2,
    mention: 'passphrase',
  },
  {
    name: 'encrypted CA: wrong passphrase in CERTCTL_CA_PASSPHRASE',
    args: (f) => ['--ca', 'locked', 'issue', 'client', '--cn', 'bob', '--out', f.out],
    env: { CERTCTL_CA_PASSPHRASE: ENV_WRONG_PASSPHRASE },
    usesOut: true,
    status: 2,
    mention: 'passphrase',
  },
  {
    name: 'encrypted CA: --passphrase-file missing',
    args: (f) => ['--ca', 'locked', '--passphrase-file', 'no-such-pass.txt', 'issue', 'client', '--cn', 'bob', '--out', f.out],
    usesOut: true,
    status: 2,
    mention: 'no-such-pass.txt',
  },
  {
    name: 'encrypted CA: --passphrase-file empty',
    args: (f) => ['--ca', 'locked', '--passphrase-file', 'empty.txt', 'issue', 'client', '--cn', 'bob', '--out', f.out],
    usesOut: true,
    status: 2,
    mention: 'empty.txt',
  },
  { name: 'encrypted CA: crl without passphrase (CRL number must not move)', args: () => ['--ca', 'locked', 'crl'], status: 2, mention: 'passphrase' },
  {
    name: 'encrypted CA: sign with wrong passphrase',
    args: () => ['--ca', 'locked', '--passphrase-file', 'wrong-pass.txt', 'sign', '--csr', 'good.csr'],
    status: 2,
    mention: 'passphrase',
  },

  // ---- serials: show / revoke / renew / export --------------------------------------------------
  { name: 'show: unknown serial', args: (f) => ['show', f.unknownSerial], status: 4, mention: (f) => f.unknownSerial },
  { name: 'revoke: unknown serial', args: (f) => ['revoke', f.unknownSerial], status: 4, mention: (f) => f.unknownSerial },
  { name: 'renew: unknown serial', args: (f) => ['renew', f.unknownSerial, '--out', f.out], usesOut: true, status: 4, mention: (f) => f.unknownSerial },
  {
    name: 'export: unknown serial',
    args: (f) => ['export', f.unknownSerial, '--format', 'pem', '--out', f.out],
    usesOut: true,
    status: 4,
    mention: (f) => f.unknownSerial,
  },
  { name: 'show: malformed serial "xyz"', args: () => ['show', 'xyz'], status: 2, mention: 'xyz' },
  { name: 'revoke: malformed serial "xyz"', args: () => ['revoke', 'xyz'], status: 2, mention: 'xyz' },
  { name: 'show: empty serial', args: () => ['show', ''], status: 2, mention: 'serial' },
  { name: 'revoke: over-long hex serial', args: () => ['revoke', 'A'.repeat(50)], status: 2, mention: 'AAAAAAAA' },
  { name: 'revoke: already revoked', args: (f) => ['revoke', f.revokedSerial], status: 8, mention: 'already revoked' },
  { name: 'revoke: unknown --reason', args: (f) => ['revoke', f.serverSerial, '--reason', 'bogus'], status: 2, mention: 'bogus' },
  { name: 'renew: --out is an existing regular file', args: (f) => ['renew', f.serverSerial, '--out', 'a-file.txt'], status: 2, mention: 'a-file.txt' },
  {
    name: 'renew: --format p12 without a password',
    args: (f) => ['renew', f.serverSerial, '--format', 'p12', '--out', f.out],
    usesOut: true,
    status: 2,
    mention: 'password',
  },
  { name: 'renew: --ttl abc', args: (f) => ['renew', f.serverSerial, '--ttl', 'abc', '--out', f.out], usesOut: true, status: 2, mention: 'abc' },
  {
    name: 'export k8s: CSR-signed certificate (no key held)',
    args: (f) => ['export', f.csrSerial, '--format', 'k8s', '--out', `${f.out}/secret.yaml`],
    usesOut: true,
    status: 4,
    mention: (f) => f.csrSerial,
  },
  {
    name: 'export p12: CSR-signed certificate (no key held)',
    args: (f) => ['export', f.csrSerial, '--format', 'p12', '--password-file', 'p12-pass.txt', '--out', `${f.out}/c.p12`],
    usesOut: true,
    status: 4,
    mention: (f) => f.csrSerial,
  },
  {
    name: 'export: --format docker is not an export format',
    args: (f) => ['export', f.serverSerial, '--format', 'docker', '--out', f.out],
    usesOut: true,
    status: 2,
    mention: 'docker',
  },
  {
    name: 'export p12: no password',
    args: (f) => ['export', f.serverSerial, '--format', 'p12', '--out', `${f.out}/c.p12`],
    usesOut: true,
    status: 2,
    mention: 'password',
  },
  {
    name: 'export k8s: --out is an existing directory',
    args: (f) => ['export', f.serverSerial, '--format', 'k8s', '--out', 'a-dir'],
    status: 2,
    mention: 'a-dir',
  },
  {
    name: 'export pem: --out is an existing regular file',
    args: (f) => ['export', f.serverSerial, '--format', 'pem', '--out', 'a-file.txt'],
    status: 2,
    mention: 'a-file.txt',
  },

  // ---- CAs ---------------------------------------------------------------------------------------
  { name: 'init: the CA already exists', args: () => ['init', '--cn', 'Again'], status: 8, mention: 'already exists' },
  { name: 'init: missing --cn', args: () => ['--ca', 'fresh', 'init'], status: 2, mention: '--cn' },
  { name: 'init: --key-type rsa-1024', args: () => ['--ca', 'fresh', 'init', '--cn', 'Fresh', '--key-type', 'rsa-1024'], status: 2, mention: 'rsa-1024' },
  { name: 'init: --ttl abc', args: () => ['--ca', 'fresh', 'init', '--cn', 'Fresh', '--ttl', 'abc'], status: 2, mention: 'abc' },
  {
    name: 'init: --parent names a CA that does not exist',
    args: () => ['--ca', 'fresh', 'init', '--cn', 'Fresh', '--parent', 'nope'],
    status: 4,
    mention: 'nope',
  },
  {
    name: 'init: --passphrase-file missing (must not fall back to a plain key)',
    args: () => ['--ca', 'fresh', '--passphrase-file', 'no-such-pass.txt', 'init', '--cn', 'Fresh'],
    status: 2,
    mention: 'no-such-pass.txt',
  },
  { name: 'init: CN longer than 64 characters', args: () => ['--ca', 'fresh', 'init', '--cn', 'C'.repeat(65)], status: 2, mention: '64' },
  { name: 'init: --ca with path traversal', args: () => ['--ca', '../escape', 'init', '--cn', 'Escape'], status: 3, mention: '../escape' },
  {
    name: 'init: --parent with path traversal',
    args: () => ['--ca', 'fresh', 'init', '--cn', 'Fresh', '--parent', '../escape'],
    status: 2,
    mention: '../escape',
  },
  { name: 'ca show: --ca names a CA that does not exist', args: () => ['--ca', 'nope', 'ca', 'show'], status: 4, mention: 'nope' },
  { name: 'list: --expiring abc', args: () => ['list', '--expiring', 'abc'], status: 2, mention: 'abc' },
  { name: 'unknown command', args: () => ['frobnicate'], status: 2, mention: 'frobnicate' },

  // ---- configuration ---------------------------------------------------------------------------
  { name: 'config: --config /nonexistent', args: () => ['--config', '/nonexistent/certctl.yaml', 'list'], status: 3, mention: '/nonexistent/certctl.yaml' },
  {
    name: 'config: CERTCTL_CONFIG points nowhere',
    args: () => ['list'],
    env: { CERTCTL_CONFIG: '/nonexistent/env.yaml' },
    status: 3,
    mention: 'CERTCTL_CONFIG',
  },
  { name: 'config: --config is a directory', args: () => ['--config', 'a-dir', 'list'], status: 3, mention: 'a-dir' },
  { name: 'config: invalid YAML', args: () => ['--config', 'invalid.yaml', 'list'], status: 3, mention: 'YAML' },
  { name: 'config: YAML alias bomb', args: () => ['--config', 'alias-bomb.yaml', 'list'], status: 3, mention: 'alias-bomb.yaml' },
  { name: 'config: duplicate keys', args: () => ['--config', 'duplicate.yaml', 'list'], status: 3, mention: 'duplicate.yaml' },
  { name: 'config: a YAML list at the top level', args: () => ['--config', 'toplist.yaml', 'list'], status: 3, mention: 'toplist.yaml' },
  {
    name: 'config: unknown key under profiles.server',
    args: () => ['--config', 'unknown-key.yaml', 'list'],
    status: 3,
    mention: /profiles\.server\b.*max_tll/,
  },
  { name: 'config: unknown top-level key', args: () => ['--config', 'unknown-top.yaml', 'list'], status: 3, mention: 'backnd' },
  { name: 'config: unknown profile name', args: () => ['--config', 'unknown-profile.yaml', 'list'], status: 3, mention: 'sever' },
  { name: 'config: max_ttl not a duration', args: () => ['--config', 'bad-max-ttl.yaml', 'list'], status: 3, mention: 'profiles.server.max_ttl' },
  { name: 'config: max_ttl of zero', args: () => ['--config', 'zero-max-ttl.yaml', 'list'], status: 3, mention: 'profiles.server.max_ttl' },
  { name: 'config: default_ttl above max_ttl', args: () => ['--config', 'default-over-max.yaml', 'list'], status: 3, mention: 'profiles.client.default_ttl' },
  { name: 'config: bad CIDR in allowed_ips', args: () => ['--config', 'bad-cidr.yaml', 'list'], status: 3, mention: 'profiles.server.allowed_ips' },
  { name: 'config: bad pattern in allowed_dns', args: () => ['--config', 'bad-dns.yaml', 'list'], status: 3, mention: 'profiles.server.allowed_dns' },
  {
    name: 'config: unknown key type in allowed_key_types',
    args: () => ['--config', 'bad-keytype.yaml', 'list'],
    status: 3,
    mention: 'profiles.server.allowed_key_types',
  },
  { name: 'config: unknown key in file:', args: () => ['--config', 'bad-file-key.yaml', 'list'], status: 3, mention: /file\b.*bogus/ },
  { name: 'config: file.dir is not a string', args: () => ['--config', 'bad-file-dir.yaml', 'list'], status: 3, mention: 'file.dir' },
  { name: 'config: non-http CRL URL', args: () => ['--config', 'bad-url.yaml', 'list'], status: 3, mention: 'urls.crl' },
  { name: 'config: ca name with path traversal', args: () => ['--config', 'bad-ca.yaml', 'list'], status: 3, mention: /\bca: expected/ },
  {
    name: "backend: --backend nosuch (a flag: the user's input)",
    args: () => ['--backend', 'nosuch', 'list'],
    status: 2,
    mention: '--backend: unknown backend "nosuch"',
  },
  { name: 'backend: backend: nosuch in the config', args: () => ['--config', 'bad-backend.yaml', 'list'], status: 3, mention: 'nosuch' },
  { name: 'backend: CERTCTL_BACKEND=nosuch', args: () => ['list'], env: { CERTCTL_BACKEND: 'nosuch' }, status: 3, mention: 'nosuch' },
  { name: 'backend: --backend vault without an address', args: () => ['--backend', 'vault', 'list'], status: 3, mention: 'vault.address' },
  {
    name: 'backend: --backend barbican without credentials',
    args: () => ['--backend', 'barbican', 'issue', 'client', '--cn', 'bob', '--out', 'never'],
    status: 3,
    mention: 'barbican.auth.method',
  },
];

/** Extra config files, written next to certctl.yaml so `./pki` is the same store. */
const CONFIG_FILES: Record<string, string> = {
  'long-ttl.yaml': 'file: { dir: ./pki }\nprofiles:\n  client: { max_ttl: 3650d }\n',
  'invalid.yaml': 'file: { dir: ./pki\nprofiles: [\n  - : :\n',
  // "Billion laughs": 10^6 strings from a few lines if aliases were expanded without limit.
  'alias-bomb.yaml':
    [
      'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
      ...'bcdef'.split('').map((k, i) => `${k}: &${k} [${Array(10).fill(`*${'abcdef'[i]}`).join(',')}]`),
    ].join('\n') + '\n',
  'duplicate.yaml': 'backend: file\nfile: { dir: ./pki }\nbackend: vault\n',
  'toplist.yaml': '- backend\n- file\n',
  'unknown-key.yaml': 'file: { dir: ./pki }\nprofiles:\n  server: { max_tll: 30d }\n',
  'unknown-top.yaml': 'backnd: file\nfile: { dir: ./pki }\n',
  'unknown-profile.yaml': 'file: { dir: ./pki }\nprofiles:\n  sever: { max_ttl: 30d }\n',
  'bad-max-ttl.yaml': 'file: { dir: ./pki }\nprofiles:\n  server: { max_ttl: 398x }\n',
  'zero-max-ttl.yaml': 'file: { dir: ./pki }\nprofiles:\n  server: { max_ttl: 0d }\n',
  'default-over-max.yaml': 'file: { dir: ./pki }\nprofiles:\n  client: { max_ttl: 30d, default_ttl: 60d }\n',
  'bad-cidr.yaml': 'file: { dir: ./pki }\nprofiles:\n  server: { allowed_ips: ["10.0.0.0/8", "10.0.0.0/33"] }\n',
  'bad-dns.yaml': 'file: { dir: ./pki }\nprofiles:\n  server: { allowed_dns: ["bad_name!"] }\n',
  'bad-keytype.yaml': 'file: { dir: ./pki }\nprofiles:\n  server: { allowed_key_types: [rsa-1024] }\n',
  'bad-file-key.yaml': 'file: { dir: ./pki, bogus: 1 }\n',
  'bad-file-dir.yaml': 'file: { dir: 42 }\n',
  'bad-url.yaml': 'file: { dir: ./pki }\nurls: { crl: ["ftp://crl.example/ca.crl"] }\n',
  'bad-ca.yaml': 'ca: ../x\nfile: { dir: ./pki }\n',
  'bad-backend.yaml': 'backend: nosuch\nfile: { dir: ./pki }\n',
};

let ws: string;
let cleanup: () => void;
let fixtures: Omit<Fixtures, 'out'>;
/** Texts that must never appear in any output. */
const secrets: string[] = [PASSPHRASE, WRONG_PASSPHRASE, ENV_WRONG_PASSPHRASE, P12_PASSWORD, 'PRIVATE KEY'];

function ok(r: CliResult, what: string): CliResult {
  if (r.status !== 0) throw new Error(`setup step failed: ${what} (exit ${r.status})\n${r.stdout}\n${r.stderr}`);
  return r;
}

function openssl(args: string[], input?: string): string {
  const r = run('openssl', args, { cwd: ws, input });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

function pemBody(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
}

function toPemText(der: Buffer, label: string): string {
  const b64 = der
    .toString('base64')
    .match(/.{1,64}/g)!
    .join('\n');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

/** Base64 lines inside every PRIVATE KEY block of `text`. */
function keyLines(text: string): string[] {
  const lines: string[] = [];
  for (const m of text.matchAll(/-----BEGIN [A-Z ]*PRIVATE KEY-----([\s\S]+?)-----END/g)) {
    lines.push(
      ...m[1]
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l.length >= 32),
    );
  }
  return lines;
}

/** Sorted listing of every path under `root`: type, mode, and for files size and sha256. */
function snapshot(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      const st = lstatSync(p);
      const rel = relative(root, p);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isDirectory()) {
        out.push(`${rel}/ dir ${mode}`);
        walk(p);
      } else if (st.isFile()) {
        out.push(`${rel} file ${mode} ${st.size} ${createHash('sha256').update(readFileSync(p)).digest('hex')}`);
      } else {
        out.push(`${rel} ${st.isSymbolicLink() ? 'symlink' : 'other'} ${mode}`);
      }
    }
  };
  if (existsSync(root)) walk(root);
  return out;
}

/** Leftovers of an interrupted write: fs-atomic's `.name.hex.tmp`, the store's `.tmp-ca-hex`, a lock. */
function leftovers(root: string): string[] {
  return snapshot(root)
    .map((line) => line.split(' ')[0].replace(/\/$/, ''))
    .filter((p) => /\.tmp$|^\.tmp-|\.tmp\b|^\.lock$/.test(basename(p)));
}

function listJson(ca: string): unknown {
  const r = certctl(ws, ['--json', '--ca', ca, 'list']);
  expect(r.status).toBe(0);
  return r.json?.result;
}

beforeAll(() => {
  ({ dir: ws, cleanup } = tempDir('certctl-bad-inputs-'));
  writeFileSync(join(ws, 'certctl.yaml'), CONFIG);
  for (const [name, text] of Object.entries(CONFIG_FILES)) writeFileSync(join(ws, name), text);
  writeFileSync(join(ws, 'pass.txt'), `${PASSPHRASE}\n`, { mode: 0o600 });
  writeFileSync(join(ws, 'wrong-pass.txt'), `${WRONG_PASSPHRASE}\n`, { mode: 0o600 });
  writeFileSync(join(ws, 'p12-pass.txt'), `${P12_PASSWORD}\n`, { mode: 0o600 });
  writeFileSync(join(ws, 'empty.txt'), '');
  writeFileSync(join(ws, 'a-file.txt'), 'I am a regular file, not a directory\n');
  mkdirSync(join(ws, 'a-dir'));
  mkdirSync(join(ws, 'trap', 'cert.pem'), { recursive: true });

  // Three CAs: plain, encrypted, and one that expires in 30 days.
  ok(certctl(ws, ['init', '--cn', 'Bad Inputs Test CA']), 'init default');
  ok(certctl(ws, ['--ca', 'locked', '--passphrase-file', 'pass.txt', 'init', '--cn', 'Locked CA']), 'init locked');
  ok(certctl(ws, ['--ca', 'short', 'init', '--cn', 'Short CA', '--ttl', '30d']), 'init short');

  const server = ok(certctl(ws, ['--json', 'issue', 'server', '--cn', 'a.internal.example', '--ip', '10.0.0.5', '--out', 'issued-server']), 'issue server');
  const client = ok(certctl(ws, ['--json', 'issue', 'client', '--cn', 'alice', '--out', 'issued-client']), 'issue client');
  const revokedSerial: string = client.json!.result.certificates[0].serial;
  ok(certctl(ws, ['revoke', revokedSerial, '--reason', 'keyCompromise']), 'revoke client');

  // CSRs, made by openssl as an operator would.
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'ec.key']);
  const req = (out: string, subj: string, ...extra: string[]) => openssl(['req', '-new', '-key', 'ec.key', '-subj', subj, '-sha256', '-out', out, ...extra]);
  req('good.csr', '/CN=good-client');
  req('ca-true.csr', '/CN=sneaky-ca', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  req('evil-san.csr', '/CN=evil', '-addext', 'subjectAltName=DNS:evil.example.com');
  req('email-san.csr', '/CN=mailer', '-addext', 'subjectAltName=email:alice@example.com');
  openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024', '-out', 'rsa1024.key']);
  openssl(['req', '-new', '-key', 'rsa1024.key', '-subj', '/CN=weak', '-sha256', '-out', 'rsa1024.csr']);
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-521', '-out', 'p521.key']);
  openssl(['req', '-new', '-key', 'p521.key', '-subj', '/CN=p521', '-sha256', '-out', 'p521.csr']);
  openssl(['dsaparam', '-genkey', '-out', 'dsa.key', '1024']);
  openssl(['req', '-new', '-key', 'dsa.key', '-subj', '/CN=dsa', '-sha256', '-out', 'dsa.csr']);

  const good = readFileSync(join(ws, 'good.csr'), 'utf8');
  const der = pemBody(good);
  const half = toPemText(der.subarray(0, Math.floor(der.length / 2)), 'CERTIFICATE REQUEST');
  writeFileSync(join(ws, 'truncated.csr'), half);
  writeFileSync(join(ws, 'no-end.csr'), good.split('\n').slice(0, 3).join('\n') + '\n');
  writeFileSync(join(ws, 'garbage.csr'), '-----BEGIN CERTIFICATE REQUEST-----\n!!!!not*base64@@@@%%%%\n~~~~~~~~\n-----END CERTIFICATE REQUEST-----\n');
  // The signature BIT STRING is the last element of the CSR: flipping its last byte breaks the signature only.
  const broken = Buffer.from(der);
  broken[broken.length - 1] ^= 0x01;
  writeFileSync(join(ws, 'badsig.csr'), toPemText(broken, 'CERTIFICATE REQUEST'));
  // openssl 3.0 `req -verify` exits 0 either way; it says so on its output.
  const verified = run('openssl', ['req', '-in', 'badsig.csr', '-noout', '-verify'], { cwd: ws });
  expect(`${verified.stdout}${verified.stderr}`).toMatch(/verify failure/);
  writeFileSync(join(ws, 'a-cert.pem'), readFileSync(join(ws, 'issued-server', 'cert.pem')));

  // A certificate signed from a CSR: the store holds no key for it.
  const signed = ok(certctl(ws, ['--json', 'sign', '--csr', 'good.csr']), 'sign good.csr');

  const serverSerial: string = server.json!.result.certificates[0].serial;
  fixtures = {
    ws,
    serverSerial,
    revokedSerial,
    csrSerial: signed.json!.result.serial,
    // Same length as a real serial, differing in its first digit.
    unknownSerial: (serverSerial[0] === '1' ? '2' : '1') + serverSerial.slice(1),
  };

  // Every key that exists must never be printed.
  for (const line of snapshot(ws)) {
    const path = join(ws, line.split(' ')[0]);
    if (line.includes(' file ') && /\.(key|pem)$/.test(path)) secrets.push(...keyLines(readFileSync(path, 'utf8')));
  }
  expect(secrets.length).toBeGreaterThan(10);
}, 120000);

afterAll(() => cleanup?.());

describe('certctl refuses malformed and hostile input without side effects', () => {
  test('at least 30 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
  });

  test.each(cases.map((c, i) => [c.name, c, i] as const))('%s', (_name, c, i) => {
    const f: Fixtures = { ...fixtures, out: `out-${String(i).padStart(2, '0')}` };
    const args = ['--json', ...c.args(f)];
    const caArg = args.indexOf('--ca') >= 0 ? args[args.indexOf('--ca') + 1] : 'default';
    const listCa = KNOWN_CAS.includes(caArg) ? caArg : 'default';
    const mention = typeof c.mention === 'function' ? c.mention(f) : c.mention;

    const storeBefore = snapshot(join(ws, 'pki'));
    const wsBefore = snapshot(ws);
    const listBefore = listJson(listCa);
    // Compared with what was there before, so one case's leftovers are not blamed on the next.
    const leftoversBefore = leftovers(ws);

    const r = certctl(ws, args, c.env, c.input?.(f));

    // Every broken promise is collected, so one run reports all of them at once.
    const problems: string[] = [];
    const check = (okay: boolean, what: string) => void (okay || problems.push(what));

    // Exit code, JSON envelope, message.
    check(r.status === c.status, `exit code ${r.status}, expected ${c.status}`);
    const json = r.json;
    check(json !== undefined, 'stdout is not the --json envelope');
    check(r.stdout.trim() === JSON.stringify(json), 'stdout holds more than one JSON document');
    check(json?.status === c.status, `json.status ${json?.status}, expected ${c.status}`);
    check(json?.result === undefined, 'json.result is set on an error');
    check(json?.error?.code === CODES[c.status], `json.error.code ${json?.error?.code}, expected ${CODES[c.status]}`);
    const message = json?.error?.message ?? '';
    check(typeof message === 'string' && message.length > 0, 'json.error.message is empty');
    check(typeof mention === 'string' ? message.includes(mention) : mention.test(message), `message does not mention ${String(mention)}`);
    check(message !== '' && r.stderr.includes(message), 'stderr does not carry the message');

    // No stack traces, no secrets.
    for (const [name, stream] of [
      ['stdout', r.stdout],
      ['stderr', r.stderr],
    ] as const) {
      check(!/^\s+at .+:\d+:\d+\)?$/m.test(stream) && !/node:internal|\/dist\/certctl\.js:\d+/.test(stream), `${name} shows a stack trace`);
      for (const secret of secrets) check(!stream.includes(secret), `${name} leaks a secret (${secret.slice(0, 12)}…)`);
    }

    // The store, the inventory and the rest of the workspace are untouched.
    for (const d of diff(storeBefore, snapshot(join(ws, 'pki')))) problems.push(`store changed: ${d}`);
    check(JSON.stringify(listJson(listCa)) === JSON.stringify(listBefore), `\`certctl --ca ${listCa} list\` changed`);
    const outEntry = `${f.out}/ dir`;
    const wsAfter = snapshot(ws).filter((l) => !l.startsWith(outEntry));
    for (const d of diff(wsBefore, wsAfter)) if (!d.slice(2).startsWith('pki/')) problems.push(`workspace changed: ${d}`);
    for (const p of leftovers(ws)) check(leftoversBefore.includes(p), `temp/partial file left behind: ${p}`);
    if (c.usesOut && existsSync(join(ws, f.out))) {
      const isDir = lstatSync(join(ws, f.out)).isDirectory();
      check(isDir && readdirSync(join(ws, f.out)).length === 0, `--out ${f.out} is not empty`);
    }
    check(!existsSync(join(ws, 'escape')) && !existsSync(join(ws, 'never')), 'wrote outside the store');

    const context = `certctl ${args.join(' ')}\nexit ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
    expect({ problems, context }).toEqual({ problems: [], context });
  });
});

/** Lines only in `before` ("- ") or only in `after` ("+ "). */
function diff(before: string[], after: string[]): string[] {
  return [...before.filter((l) => !after.includes(l)).map((l) => `- ${l}`), ...after.filter((l) => !before.includes(l)).map((l) => `+ ${l}`)];
}
