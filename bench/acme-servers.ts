/**
 * The ACME servers bench/acme.ts compares, each started on free 127.0.0.1 ports in its own
 * directory, its validation pointed at the bench's one http-01 responder and at challtestsrv as
 * the resolver (every name is 127.0.0.1): Pebble v2.10.3, step-ca v0.30.2's ACME provisioner and
 * `certctl serve` (file backend). Not product code.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join, resolve } from 'node:path';
import { startBackground } from '../test/support/background';
import { certctl } from '../test/support/cli';
import { startPebble } from '../test/support/pebble';
import { startServe } from '../test/support/serve';
import { freePort } from '../test/support/tls-check';

// Bundled into .cache/bench/ by bench/acme.mjs: two levels below the repository, as test/support is.
const ROOT = resolve(__dirname, '..', '..');

/** A running ACME server: its directory, the CA its HTTPS is verified with, the pid whose CPU is counted. */
export interface BenchServer {
  name: string;
  version: string;
  directory: string;
  caPem: string;
  pid: number;
  stop(): Promise<void>;
}

/** Where the servers validate: the bench's http-01 responder port and challtestsrv's DNS address. */
export interface Validation {
  http01Port: number;
  dnsResolver: string;
}

const openssl = (dir: string, args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }).toString();

/** Pebble with its chaos off and no Retry-After (the bench client polls at its own pace). */
export async function benchPebble(bin: string, dir: string, v: Validation): Promise<BenchServer> {
  mkdirSync(dir, { recursive: true });
  const tlsPort = await freePort();
  const pebble = await startPebble(bin, dir, { httpPort: v.http01Port, tlsPort, dnsServer: v.dnsResolver, retryAfter: 0 });
  const version = `pebble ${execFileSync(bin, ['-version'], { encoding: 'utf8' })
    .replace(/^Pebble version:\s*/, '')
    .trim()}`;
  return { name: 'pebble', version, directory: pebble.directory, caPem: readFileSync(pebble.caFile, 'utf8'), pid: pebble.pid, stop: () => pebble.stop() };
}

/** The step-ca binary: STEP_CA_BIN, or .cache/step-ca/step-ca (tools/install-step-ca.sh builds it). */
export function stepCaBinary(): string | undefined {
  const candidates = [process.env.STEP_CA_BIN, join(ROOT, '.cache', 'step-ca', 'step-ca')];
  const found = candidates.find((c): c is string => !!c && existsSync(c));
  if (found) return found;
  const install = join(ROOT, 'tools', 'install-step-ca.sh');
  if (!existsSync(install)) return undefined;
  return execFileSync('bash', [install], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

/**
 * step-ca with a root and an intermediate made by openssl, badger as its database (`step ca
 * init`'s default) and one ACME provisioner; `--insecure --acme-http-port` and `--resolver` point
 * its validation at the bench (step-ca validates within the challenge POST).
 */
export async function benchStepCa(bin: string, dir: string, v: Validation): Promise<BenchServer> {
  mkdirSync(dir, { recursive: true });
  const ext = (name: string, text: string) => writeFileSync(join(dir, name), text);
  for (const k of ['root', 'intermediate', 'tls']) openssl(dir, ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${k}-key.pem`]);
  openssl(
    dir,
    ['req', '-x509', '-new', '-key', 'root-key.pem', '-subj', '/CN=Bench step-ca ACME Root', '-days', '30', '-out', 'root.pem'].concat([
      '-addext',
      'basicConstraints=critical,CA:true',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]),
  );
  ext('intermediate.ext', 'basicConstraints=critical,CA:true,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n');
  openssl(dir, ['req', '-new', '-key', 'intermediate-key.pem', '-subj', '/CN=Bench step-ca ACME Intermediate', '-out', 'intermediate.csr']);
  const signIntermediate = ['x509', '-req', '-in', 'intermediate.csr', '-CA', 'root.pem', '-CAkey', 'root-key.pem', '-CAcreateserial', '-days', '30'];
  openssl(dir, [...signIntermediate, '-extfile', 'intermediate.ext', '-out', 'intermediate.pem']);
  const port = await freePort();
  const config = {
    root: join(dir, 'root.pem'),
    crt: join(dir, 'intermediate.pem'),
    key: join(dir, 'intermediate-key.pem'),
    address: `127.0.0.1:${port}`,
    dnsNames: ['127.0.0.1', 'localhost'],
    logger: { format: 'text' },
    db: { type: 'badgerv2', dataSource: join(dir, 'db') },
    authority: { provisioners: [{ type: 'ACME', name: 'acme', claims: { defaultTLSCertDuration: '24h' } }] },
    tls: { minVersion: 1.2, maxVersion: 1.3, renegotiation: false },
  };
  writeFileSync(join(dir, 'ca.json'), JSON.stringify(config, null, 2));
  const caPem = readFileSync(join(dir, 'root.pem'), 'utf8');
  const directory = `https://127.0.0.1:${port}/acme/acme/directory`;
  const args = [join(dir, 'ca.json'), '--insecure', '--acme-http-port', String(v.http01Port), '--resolver', v.dnsResolver];
  const server = await startBackground(dir, 'step-ca', bin, args, { ready: () => answers(directory, caPem), timeoutMs: 60000 });
  const version = `step-ca ${/CA\/(\S+)/.exec(execFileSync(bin, ['version'], { encoding: 'utf8' }))?.[1] ?? '?'}`;
  return { name: 'step-ca', version, directory, caPem, pid: server.pid, stop: () => server.stop() };
}

/**
 * `certctl serve` (the built CLI) over a fresh file-backend CA, its `acme:` section pointing
 * validation at the bench, the rate limits lifted (one account per client does the whole load).
 * Throws when the build has no ACME directory.
 */
export async function benchCertctl(dir: string, v: Validation): Promise<BenchServer> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'certctl.yaml'),
    [
      'serve:',
      '  limits: { requests_per_minute: 1000000000 }',
      'acme:',
      `  http01_port: ${v.http01Port}`,
      `  dns_resolver: ${v.dnsResolver}`,
      '  rate_limits: { orders_per_account_per_hour: 100000000, certificates_per_name_per_week: 100000000 }',
      '',
    ].join('\n'),
  );
  const run = (args: string[]) => {
    const r = certctl(dir, args);
    if (r.status !== 0) throw new Error(`certctl ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    return r.stdout;
  };
  run(['init', '--cn', 'Bench certctl ACME CA']);
  const ca = (JSON.parse(run(['ca', 'show', '--json'])) as { result: { ca: string } }).result.ca;
  const server = await startServe(dir);
  const directory = `${server.url}/acme/${ca}/directory`;
  const caPem = readFileSync(server.caFile, 'utf8');
  if (!(await answers(directory, caPem))) {
    await server.stop();
    throw new Error(`${directory} does not answer 200: this build has no ACME`);
  }
  const pid = server.child.pid ?? 0;
  return { name: 'certctl', version: `certctl serve ${run(['--version']).trim()}`, directory, caPem, pid, stop: async () => void (await server.stop()) };
}

/** True when `url` answers 200 over HTTPS trusting `ca`. */
function answers(url: string, ca: string): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const req = request(url, { ca, headers: { 'user-agent': 'certctl-acme-bench' }, timeout: 2000 }, (res) => {
      res.resume();
      resolvePromise(res.statusCode === 200);
    });
    req.on('error', () => resolvePromise(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}
