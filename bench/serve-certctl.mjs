// `certctl serve` for bench/serve.mjs: a file-backend CA made by `certctl init`, the server on a
// free port, its sign endpoint and its OCSP responder as load targets.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cycle, freePort, json, parse, startProcess } from './serve-servers.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'certctl.js');
const DIST = join(ROOT, 'dist', 'certctl.js');

/**
 * certctl serve over a fresh file-backend CA in `dir` (the store in `pkiDir`, default `dir/pki`).
 * `nodeArgs` go before bin/certctl.js (--cpu-prof for a profile). Throws when this build has no
 * `serve` command.
 */
export async function startCertctl(dir, env, { nodeArgs = [], pkiDir = join(dir, 'pki') } = {}) {
  mkdirSync(dir, { recursive: true });
  const cenv = { ...env, CERTCTL_FILE_DIR: pkiDir };
  const certctl = (...args) => execFileSync('node', [BIN, ...args], { cwd: dir, env: cenv, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  // `certctl serve --help` on a build without it prints the top-level help and exits 0.
  if (!/^\s+serve\b/m.test(certctl('--help'))) throw new Error('this certctl build has no `serve` command');
  certctl('init', '--cn', 'Bench serve CA');
  // The client proves itself with a certificate of the CA that holds a role allowing the server
  // profile for the CSRs' names (not admin: the role check runs as for any fleet client). The
  // per-client rate limit (default 6,000 a minute) is lifted: one client is the whole load here.
  certctl('issue', 'client', '--cn', 'bench-client', '--out', join(dir, 'client'));
  // The plain-HTTP listener for /ocsp and /crl (where OCSP clients such as nginx's go), in the
  // builds that have it: a build without it would refuse the key as unknown.
  const publicHttpPort = readFileSync(DIST, 'utf8').includes('public_http_listen') ? await freePort() : undefined;
  writeFileSync(
    join(dir, 'certctl.yaml'),
    [
      'serve:',
      '  roles:',
      '    bench: { profiles: [server], names: ["*.bench.example"] }',
      '  clients:',
      '    - { cn: bench-client, role: bench }',
      '  limits: { requests_per_minute: 1000000000 }',
      ...(publicHttpPort ? [`  public_http_listen: 127.0.0.1:${publicHttpPort}`] : []),
      '',
    ].join('\n'),
  );
  const caPem = certctl('ca', 'show');
  const caName = JSON.parse(certctl('ca', 'show', '--json')).result.ca;
  const port = await freePort();
  const proc = await startProcess(dir, 'node', [...nodeArgs, BIN, 'serve', '--listen', `127.0.0.1:${port}`], { env: cenv, port, caPem });
  const version = `certctl serve ${certctl('--version').trim()}`;
  return {
    name: 'certctl',
    version,
    port,
    ...proc,
    caName,
    publicHttpPort,
    path: '/v1/sign',
    headers: { 'content-type': 'application/json' },
    caPem,
    clientCert: readFileSync(join(dir, 'client', 'cert.pem')),
    clientKey: readFileSync(join(dir, 'client', 'key.pem')),
    expect: (a) => a.status === 201 && a.body.includes('"certificate"'),
    certificate: (a) => parse(a)?.certificate,
    bodies: (csrs, n) => cycle(csrs, n, (c) => json({ csr: c.pem, profile: 'server', ttl: '24h' })),
  };
}

/**
 * The OCSP load target of a running certctl server: POST /ocsp/{ca} of one prebuilt request (made
 * by `openssl ocsp -reqout`, no nonce) for `leafPem`, on its HTTPS listener or, with `plain`, its
 * plain-HTTP one; the answer checked once with openssl to be "good". `sendOnce(target, body)` sends
 * one request. Returns { target, body } or { unavailable: reason } when there is no such endpoint.
 */
export async function ocspTarget(server, leafPem, dir, sendOnce, plain = false) {
  if (plain && !server.publicHttpPort) return { unavailable: 'this build has no plain-HTTP listener (serve.public_http_listen)' };
  mkdirSync(dir, { recursive: true });
  const files = { ca: join(dir, 'ca.pem'), leaf: join(dir, 'leaf.pem'), req: join(dir, 'req.der'), resp: join(dir, 'resp.der') };
  writeFileSync(files.ca, server.caPem);
  writeFileSync(files.leaf, leafPem);
  execFileSync('openssl', ['ocsp', '-issuer', files.ca, '-cert', files.leaf, '-no_nonce', '-reqout', files.req], { stdio: 'ignore' });
  const body = readFileSync(files.req);
  const target = {
    name: `certctl OCSP${plain ? ' (plain HTTP)' : ''}`,
    port: plain ? server.publicHttpPort : server.port,
    plain,
    pid: server.pid,
    path: `/ocsp/${encodeURIComponent(server.caName)}`,
    headers: { 'content-type': 'application/ocsp-request' },
    expect: (a) => a.status === 200 && (a.type ?? '').startsWith('application/ocsp-response'),
  };
  const first = await sendOnce(target, body);
  if (first.status === 404) return { unavailable: `POST ${target.path} answers 404: no OCSP responder in this build` };
  if (!target.expect(first))
    return { unavailable: `POST ${target.path} answers HTTP ${first.status} ${first.type ?? ''}: ${first.body.toString().slice(0, 200)}` };
  writeFileSync(files.resp, first.body);
  const check = spawnSync('openssl', ['ocsp', '-respin', files.resp, '-issuer', files.ca, '-cert', files.leaf, '-CAfile', files.ca], { encoding: 'utf8' });
  if (!/: good/.test(check.stdout))
    return { unavailable: `the OCSP answer is not "good" for an issued certificate: ${check.stdout}${check.stderr}`.slice(0, 300) };
  return { target, body };
}
