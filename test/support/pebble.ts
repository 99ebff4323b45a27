import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { startBackground, type BackgroundServer } from './background';
import { freePort } from './tls-check';

/**
 * Pebble v2.10.3, Let's Encrypt's test ACME server: the reference the ACME harness is proven
 * against (test/integration/acme-clients-pebble.test.ts) and the benchmark's baseline.
 */
export interface Pebble extends BackgroundServer {
  /** The ACME directory URL. */
  directory: string;
  /** CA certificate (PEM file) of the directory's TLS: REQUESTS_CA_BUNDLE / LEGO_CA_CERTIFICATES. */
  caFile: string;
  /** The issuing chain's root (PEM), from the management API: what issued certificates verify to. */
  root(): Promise<string>;
  /** "Valid" or "Revoked" (and the reason code) of an issued certificate, by hex serial. */
  certStatus(serialHex: string): Promise<{ Status: string; Reason?: number }>;
}

export interface PebbleOptions {
  /** Where validation connects: the port the http-01 / tls-alpn-01 responders listen on. */
  httpPort: number;
  tlsPort: number;
  /** host:port of the DNS server names are resolved with (challtestsrv). */
  dnsServer: string;
  /**
   * Retry-After seconds on pending authorizations and processing orders (0: none). Default 1.
   * lego waits Retry-After (5 s without one) between its polls.
   */
  retryAfter?: number;
}

const openssl = (dir: string, args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });

/** A P-256 CA and a TLS certificate for 127.0.0.1/localhost signed by it, made by openssl in `dir`. */
export function loopbackTls(dir: string): { caFile: string; certFile: string; keyFile: string } {
  openssl(dir, ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'tls-ca-key.pem']);
  const caExt = ['-addext', 'basicConstraints=critical,CA:true', '-addext', 'keyUsage=critical,keyCertSign'];
  openssl(dir, ['req', '-x509', '-new', '-key', 'tls-ca-key.pem', '-subj', '/CN=ACME test TLS CA', '-days', '7', ...caExt, '-out', 'tls-ca.pem']);
  openssl(dir, ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'tls-key.pem']);
  openssl(dir, ['req', '-new', '-key', 'tls-key.pem', '-subj', '/CN=127.0.0.1', '-out', 'tls.csr']);
  writeFileSync(join(dir, 'tls.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n');
  const sign = ['x509', '-req', '-in', 'tls.csr', '-CA', 'tls-ca.pem', '-CAkey', 'tls-ca-key.pem', '-CAcreateserial', '-days', '7', '-extfile', 'tls.ext'];
  openssl(dir, [...sign, '-out', 'tls.pem']);
  return { caFile: join(dir, 'tls-ca.pem'), certFile: join(dir, 'tls.pem'), keyFile: join(dir, 'tls-key.pem') };
}

/** GET over HTTPS trusting `ca`; resolves with status and body. */
function httpsGet(url: string, ca: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, headers: { 'user-agent': 'certctl-tests' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * Starts Pebble on free 127.0.0.1 ports with its test chaos off (PEBBLE_VA_NOSLEEP=1,
 * PEBBLE_WFE_NONCEREJECT=0, PEBBLE_AUTHZREUSE=0) and one profile ("default", 90 days), so an
 * order that names no profile does not get a random one. Files and pid in `dir`.
 */
export async function startPebble(bin: string, dir: string, opts: PebbleOptions): Promise<Pebble> {
  const tls = loopbackTls(dir);
  const port = await freePort();
  const managementPort = await freePort();
  const retry = opts.retryAfter ?? 1;
  const config = {
    pebble: {
      listenAddress: `127.0.0.1:${port}`,
      managementListenAddress: `127.0.0.1:${managementPort}`,
      certificate: tls.certFile,
      privateKey: tls.keyFile,
      httpPort: opts.httpPort,
      tlsPort: opts.tlsPort,
      ocspResponderURL: '',
      externalAccountBindingRequired: false,
      retryAfter: { authz: retry, order: retry },
      keyAlgorithm: 'ecdsa',
      profiles: { default: { description: 'default profile (90 days)', validityPeriod: 7776000 } },
    },
  };
  writeFileSync(join(dir, 'pebble-config.json'), JSON.stringify(config, null, 2));
  const ca = readFileSync(tls.caFile);
  const directory = `https://127.0.0.1:${port}/dir`;
  const management = `https://127.0.0.1:${managementPort}`;
  const server = await startBackground(dir, 'pebble', bin, ['-config', join(dir, 'pebble-config.json'), '-dnsserver', opts.dnsServer], {
    env: { PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0', PEBBLE_AUTHZREUSE: '0' },
    ready: async () => (await httpsGet(directory, ca)).status === 200 && (await httpsGet(`${management}/roots/0`, ca)).status === 200,
  });
  return {
    ...server,
    directory,
    caFile: tls.caFile,
    root: async () => (await httpsGet(`${management}/roots/0`, ca)).text,
    certStatus: async (serialHex) => {
      const r = await httpsGet(`${management}/cert-status-by-serial/${serialHex}`, ca);
      if (r.status !== 200) throw new Error(`pebble cert-status-by-serial/${serialHex} answered ${r.status}`);
      return JSON.parse(r.text) as { Status: string; Reason?: number };
    },
  };
}
