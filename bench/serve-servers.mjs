// The three signing servers of bench/serve.mjs, each set up in its own directory and started on
// a free port: `cfssl serve` (Debian's golang-cfssl, over HTTPS), step-ca v0.30.2 (built by
// tools/install-step-ca.sh, a JWK provisioner, one-time tokens minted here) and `certctl serve`
// (file backend). None of this is product code.
//
// A server is { name, version, port, pid, path, headers, caPem, trustPems?, expect(answer) (an
// answer of serve-load.mjs's send()), certificate(answer) → PEM, bodies(csrs, n) → n request
// bodies (Buffers), oneShot (a body can be sent only once and costs something to make), stop() }.
import { execFileSync, spawn } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { join } from 'node:path';
import { killTree } from './proc.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A free TCP port on 127.0.0.1 (asked of the kernel, then released). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const openssl = (args, cwd) => execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] }).toString();

/**
 * A P-256 CA certificate `name.pem` with its key `name-key.pem` in `dir`: self-signed, or signed by
 * `issuer` ({ cert, key } paths) as an intermediate (pathlen 0). Returns { cert, key }.
 */
function opensslCa(dir, name, cn, issuer) {
  const key = join(dir, `${name}-key.pem`);
  const cert = join(dir, `${name}.pem`);
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key], dir);
  if (!issuer) {
    const ext = ['-addext', 'basicConstraints=critical,CA:true', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'];
    openssl(['req', '-x509', '-new', '-key', key, '-subj', `/CN=${cn}`, '-days', '3650', '-sha256', ...ext, '-out', cert], dir);
  } else {
    writeFileSync(join(dir, `${name}.ext`), 'basicConstraints=critical,CA:true,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n');
    signWith(dir, name, cn, key, cert, issuer, `${name}.ext`);
  }
  return { cert, key };
}

function signWith(dir, name, cn, key, cert, issuer, extfile) {
  const csr = join(dir, `${name}.csr`);
  openssl(['req', '-new', '-key', key, '-subj', `/CN=${cn}`, '-out', csr], dir);
  const args = ['x509', '-req', '-in', csr, '-CA', issuer.cert, '-CAkey', issuer.key, '-CAcreateserial', '-days', '365', '-sha256'];
  openssl([...args, '-extfile', extfile, '-out', cert], dir);
}

/** A P-256 TLS server certificate for 127.0.0.1 and localhost issued by `issuer`. Returns { cert, key }. */
function opensslTlsLeaf(dir, issuer) {
  const key = join(dir, 'tls-key.pem');
  const cert = join(dir, 'tls.pem');
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key], dir);
  const ext =
    'basicConstraints=critical,CA:false\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n';
  writeFileSync(join(dir, 'tls.ext'), ext);
  signWith(dir, 'tls', '127.0.0.1', key, cert, issuer, 'tls.ext');
  return { cert, key };
}

/**
 * Spawns a server with stdout and stderr to `dir/server.log`, then waits until it answers HTTPS
 * on `port` (any status: the TLS listener is up). Returns { pid, logFile, stop() (SIGKILL to its
 * tree), terminate() }. Throws with the log's tail when it exits first or does not answer within
 * `timeoutMs`.
 */
export async function startProcess(dir, cmd, args, { env, port, caPem, timeoutMs = 60000 }) {
  const logFile = join(dir, 'server.log');
  const fd = openSync(logFile, 'w');
  const child = spawn(cmd, args, { cwd: dir, env, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  let exited;
  const exit = new Promise((resolve) => child.on('exit', (code, signal) => resolve((exited = `exited with ${code ?? signal}`))));
  const tail = () => readFileSync(logFile, 'utf8').slice(-1500);
  const t0 = Date.now();
  for (;;) {
    if (exited) throw new Error(`${cmd} ${exited} before answering: ${tail()}`);
    const ok = await new Promise((resolve) => {
      const req = https.get({ host: '127.0.0.1', port, path: '/', ca: caPem, agent: false, timeout: 2000 }, (res) => {
        res.resume();
        resolve(true);
      });
      req.on('error', () => resolve(false));
      req.on('timeout', () => req.destroy());
    });
    if (ok) break;
    if (Date.now() - t0 > timeoutMs) {
      killTree(child.pid);
      throw new Error(`${cmd} did not answer HTTPS on port ${port} within ${timeoutMs / 1000} s: ${tail()}`);
    }
    await sleep(100);
  }
  /** SIGTERM, then the exit (what a profile written at exit needs); SIGKILL after 20 s. */
  const terminate = async () => {
    child.kill('SIGTERM');
    const timer = setTimeout(() => killTree(child.pid), 20000);
    await exit;
    clearTimeout(timer);
  };
  return { pid: child.pid, logFile, stop: () => killTree(child.pid), terminate };
}

export const json = (value) => Buffer.from(JSON.stringify(value));
/** The JSON of an answer's body, or undefined. */
export const parse = (answer) => {
  try {
    return JSON.parse(answer.body.toString());
  } catch {
    return undefined;
  }
};

/** `n` bodies cycling through one prebuilt body per CSR. */
export function cycle(csrs, n, bodyOf) {
  const pool = csrs.map(bodyOf);
  return Array.from({ length: n }, (_, i) => pool[i % pool.length]);
}

// --- cfssl serve --------------------------------------------------------------------------------

/** `cfssl serve` over HTTPS with a P-256 CA made by openssl; signs at /api/v1/cfssl/sign. */
export async function startCfssl(dir, env) {
  mkdirSync(dir, { recursive: true });
  const ca = opensslCa(dir, 'ca', 'Bench cfssl CA');
  const tls = opensslTlsLeaf(dir, ca);
  const usages = ['signing', 'digital signature', 'server auth'];
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ signing: { default: { expiry: '24h', usages }, profiles: { server: { expiry: '24h', usages } } } }));
  const port = await freePort();
  const caPem = readFileSync(ca.cert, 'utf8');
  // cfssl's default log level (info), as `cfssl serve` runs out of the box.
  const args = ['serve', '-address', '127.0.0.1', '-port', String(port), '-ca', ca.cert, '-ca-key', ca.key, '-config', join(dir, 'config.json')];
  const proc = await startProcess(dir, 'cfssl', [...args, '-tls-cert', tls.cert, '-tls-key', tls.key], { env, port, caPem });
  const version = execFileSync('cfssl', ['version'], { encoding: 'utf8' }).match(/Version:\s*(\S+)/)?.[1] ?? '?';
  return {
    name: 'cfssl',
    version: `cfssl serve ${version}`,
    port,
    ...proc,
    path: '/api/v1/cfssl/sign',
    headers: { 'content-type': 'application/json' },
    caPem,
    expect: (a) => a.status === 200 && a.body.includes('"success":true'),
    certificate: (a) => parse(a)?.result?.certificate,
    bodies: (csrs, n) => cycle(csrs, n, (c) => json({ certificate_request: c.pem, profile: 'server' })),
  };
}

// --- step-ca --------------------------------------------------------------------------------------

/** The RFC 7638 thumbprint of an EC public JWK: what `step` uses as a provisioner key's kid. */
const thumbprint = (jwk) =>
  createHash('sha256')
    .update(JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }))
    .digest('base64url');
const b64url = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * step-ca with a root and an intermediate made by openssl (no step CLI), badger as its database
 * (step ca init's default) and one JWK provisioner whose key stays here to mint one-time tokens.
 */
export async function startStepCa(dir, env, bin) {
  mkdirSync(dir, { recursive: true });
  const root = opensslCa(dir, 'root', 'Bench step-ca Root CA');
  const intermediate = opensslCa(dir, 'intermediate', 'Bench step-ca Intermediate CA', root);
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pub = publicKey.export({ format: 'jwk' });
  const kid = thumbprint(pub);
  const provisioner = 'bench';
  const port = await freePort();
  const config = {
    root: root.cert,
    crt: intermediate.cert,
    key: intermediate.key,
    address: `127.0.0.1:${port}`,
    dnsNames: ['127.0.0.1', 'localhost'],
    logger: { format: 'text' },
    db: { type: 'badgerv2', dataSource: join(dir, 'db') },
    authority: { provisioners: [{ type: 'JWK', name: provisioner, key: { use: 'sig', alg: 'ES256', kid, ...pub } }] },
    tls: { minVersion: 1.2, maxVersion: 1.3, renegotiation: false },
  };
  writeFileSync(join(dir, 'ca.json'), JSON.stringify(config, null, 2));
  const caPem = readFileSync(root.cert, 'utf8');
  const proc = await startProcess(dir, bin, [join(dir, 'ca.json')], { env, port, caPem });
  // "Smallstep CA/0.30.2 (linux/amd64)"
  const version = `step-ca ${execFileSync(bin, ['version'], { encoding: 'utf8' }).match(/CA\/(\S+)/)?.[1] ?? '?'}`;
  const header = b64url({ alg: 'ES256', kid, typ: 'JWT' });
  const aud = `https://127.0.0.1:${port}/1.0/sign`;
  /** A one-time token for `name` (subject and only SAN), as `step ca token` makes one. */
  const token = (name) => {
    const now = Math.floor(Date.now() / 1000);
    const payload = b64url({ iss: provisioner, sub: name, aud, sans: [name], jti: randomBytes(16).toString('hex'), iat: now, nbf: now, exp: now + 900 });
    const signature = sign('sha256', Buffer.from(`${header}.${payload}`), { key: privateKey, dsaEncoding: 'ieee-p1363' });
    return `${header}.${payload}.${signature.toString('base64url')}`;
  };
  return {
    name: 'step-ca',
    version,
    port,
    ...proc,
    path: '/1.0/sign',
    headers: { 'content-type': 'application/json' },
    caPem,
    trustPems: [caPem, readFileSync(intermediate.cert, 'utf8')],
    expect: (a) => a.status === 201 && a.body.includes('"crt"'),
    certificate: (a) => parse(a)?.crt,
    oneShot: true,
    /** One token per body: each body can be sent once (step-ca refuses a token it has seen). */
    bodies(csrs, n) {
      return Array.from({ length: n }, (_, i) => {
        const csr = csrs[i % csrs.length];
        return json({ csr: csr.pem, ott: token(csr.name) });
      });
    },
  };
}
