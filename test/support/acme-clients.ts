import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { runToolOk, type AcmeTools } from './acme-tools';
import { run } from './cli';
import type { Challtestsrv } from './challtestsrv';

/**
 * Real ACME clients (certbot 5.8.0, lego v5.6.0) run against a directory URL, each in its own
 * state directory, for the ACME tests. Any ACME server: Pebble proves the harness
 * (test/integration/acme-clients-pebble.test.ts); `certctl serve` is what it is for.
 *
 * Names: the server's validation connects to the identifier's address; with challtestsrv as the
 * server's resolver every name (e.g. `x.acme.test`) is 127.0.0.1, so a client's responder on
 * 127.0.0.1:<port> is reached when the server is told to validate on that port (certctl:
 * `acme: {http01_port, tlsalpn01_port, dns_resolver}`; Pebble: httpPort, tlsPort, -dnsserver).
 */

/** An ACME directory and the CA certificate (PEM file) its HTTPS is verified with. */
export interface AcmeDirectory {
  url: string;
  caFile: string;
}

/** A certificate a client obtained: files the client wrote, and what it printed. */
export interface ObtainedCertificate {
  /** The leaf alone (PEM). */
  certificate: string;
  /** The leaf followed by the chain the server sent (PEM). */
  fullchain: string;
  /** The certificate's private key (PEM). */
  key: string;
  output: string;
}

/** Clients are given minutes: a failing run ends with its output, not with jest's timeout. */
const CLIENT_TIMEOUT_MS = 90000;

/** The first PEM block of a file: the leaf of a bundle. */
function firstPem(file: string): string {
  const m = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/.exec(readFileSync(file, 'utf8'));
  if (!m) throw new Error(`${file} holds no certificate`);
  return m[0].endsWith('\n') ? m[0] : `${m[0]}\n`;
}

/**
 * Every client run settled, then the first failure thrown: unlike Promise.all, a failing run
 * does not leave the others still holding their ports (or the server) for the next test.
 */
export async function allClients<T>(runs: Promise<T>[]): Promise<T[]> {
  const settled = await Promise.allSettled(runs);
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<T>).value);
}

/** certbot in `dir` (config, work and logs directories of its own), trusting the directory's CA. */
export class Certbot {
  constructor(
    private readonly tools: AcmeTools,
    private readonly directory: AcmeDirectory,
    readonly dir: string,
  ) {
    mkdirSync(dir, { recursive: true });
  }

  private run(args: string[]) {
    const state = ['--config-dir', join(this.dir, 'config'), '--work-dir', join(this.dir, 'work'), '--logs-dir', join(this.dir, 'logs')];
    return runToolOk(this.tools.certbot, [...args, '--non-interactive', ...state], {
      env: { REQUESTS_CA_BUNDLE: this.directory.caFile },
      timeoutMs: CLIENT_TIMEOUT_MS,
    });
  }

  /** The files of lineage `certName` in live/ (symlinks to the newest version). */
  lineage(certName: string, output = ''): ObtainedCertificate {
    const live = join(this.dir, 'config', 'live', certName);
    return { certificate: join(live, 'cert.pem'), fullchain: join(live, 'fullchain.pem'), key: join(live, 'privkey.pem'), output };
  }

  /**
   * `certbot certonly --standalone` over http-01: certbot's own responder on 127.0.0.1:`http01Port`.
   * The lineage is named after the first name. Throws a ToolFailure with certbot's output.
   */
  async certonly(opts: { names: string[]; http01Port: number; extra?: string[] }): Promise<ObtainedCertificate> {
    const certName = opts.names[0];
    const args = ['certonly', '--standalone', '--agree-tos', '--register-unsafely-without-email', '--server', this.directory.url];
    args.push('--preferred-challenges', 'http', '--http-01-port', String(opts.http01Port), '--http-01-address', '127.0.0.1');
    args.push('--cert-name', certName, ...opts.names.flatMap((n) => ['-d', n]), ...(opts.extra ?? []));
    const r = await this.run(args);
    return this.lineage(certName, r.output);
  }

  /**
   * `certbot renew` of every lineage, with its saved settings (server, port). `force`:
   * --force-renewal; without it certbot renews only what is due (by expiry or by the server's
   * renewalInfo, RFC 9773). Never sleeps first (--no-random-sleep-on-renew: without a terminal
   * certbot otherwise waits up to 8 minutes). Returns certbot's output.
   */
  async renew(opts: { force: boolean; extra?: string[] }): Promise<string> {
    const args = ['renew', '--no-random-sleep-on-renew', ...(opts.force ? ['--force-renewal'] : []), ...(opts.extra ?? [])];
    return (await this.run(args)).output;
  }

  /** `certbot revoke` of a certificate file with its account; the lineage is kept. Returns the output. */
  async revoke(certPath: string, reason: 'unspecified' | 'keycompromise' | 'affiliationchanged' | 'superseded' | 'cessationofoperation' = 'keycompromise') {
    const args = ['revoke', '--server', this.directory.url, '--cert-path', certPath, '--reason', reason, '--no-delete-after-revoke'];
    return (await this.run(args)).output;
  }
}

/** How lego proves control: its own responder on a port (http-01, tls-alpn-01), or TXT records in challtestsrv (dns-01). */
export type LegoChallenge = { type: 'http-01'; port: number } | { type: 'tls-alpn-01'; port: number } | { type: 'dns-01'; dns: Challtestsrv };

/** lego's `exec` DNS provider script: sets and clears TXT records in challtestsrv. */
export const LEGO_DNS_EXEC = resolve(__dirname, 'acme-dns-exec.sh');

/** lego in `dir` (its --path: accounts and certificates), trusting the directory's CA. */
export class Lego {
  constructor(
    private readonly tools: AcmeTools,
    private readonly directory: AcmeDirectory,
    readonly dir: string,
  ) {
    mkdirSync(dir, { recursive: true });
  }

  private run(args: string[], env: Record<string, string> = {}) {
    return runToolOk(this.tools.lego, args, { env: { LEGO_CA_CERTIFICATES: this.directory.caFile, ...env }, timeoutMs: CLIENT_TIMEOUT_MS });
  }

  private common(): string[] {
    return ['--server', this.directory.url, '--path', this.dir];
  }

  /**
   * `lego run` for `names` with one challenge type. dns-01: the `exec` provider writes the TXT
   * record into challtestsrv, lego checks it there (--dns.resolvers); challtestsrv answers no SOA,
   * so the authoritative-nameserver check is off (--dns.propagation.disable-ans). `renew` adds
   * --renew-force (the certificate exists in `dir`). Throws a ToolFailure with lego's output.
   */
  async obtain(opts: { names: string[]; challenge: LegoChallenge; renew?: boolean; extra?: string[] }): Promise<ObtainedCertificate> {
    const args = ['run', '--accept-tos', ...this.common(), ...opts.names.flatMap((n) => ['--domains', n])];
    const env: Record<string, string> = {};
    const c = opts.challenge;
    if (c.type === 'http-01') args.push('--http', '--http.address', `127.0.0.1:${c.port}`);
    else if (c.type === 'tls-alpn-01') args.push('--tls', '--tls.address', `127.0.0.1:${c.port}`);
    else {
      args.push('--dns', 'exec', '--dns.resolvers', c.dns.dnsResolver, '--dns.propagation.disable-ans');
      Object.assign(env, { EXEC_PATH: LEGO_DNS_EXEC, CHALLTESTSRV_MANAGEMENT: c.dns.managementUrl });
    }
    if (opts.renew) args.push('--renew-force', '--no-random-sleep');
    const r = await this.run([...args, ...(opts.extra ?? [])], env);
    return this.files(opts.names[0], r.output);
  }

  /** The files lego keeps for the certificate named after `name` (a wildcard's `*` is `_`). */
  files(name: string, output = ''): ObtainedCertificate {
    const base = join(this.dir, 'certificates', name.replace(/^\*/, '_'));
    const fullchain = `${base}.crt`;
    if (!existsSync(fullchain)) throw new Error(`lego wrote no ${fullchain}:\n${output}`);
    const certificate = `${base}.leaf.pem`;
    writeFileSync(certificate, firstPem(fullchain));
    return { certificate, fullchain, key: `${base}.key`, output };
  }

  /** `lego certificates revoke` with the account that obtained it (RFC 5280 reason code); the files are kept. */
  async revoke(name: string, reason = 1): Promise<string> {
    const args = ['certificates', 'revoke', ...this.common(), '--cert.name', name.replace(/^\*/, '_'), '--reason', String(reason), '--keep'];
    return (await this.run(args)).output;
  }
}

/** What openssl says of an obtained certificate. */
export interface CertificateCheck {
  /** `openssl verify` against `rootFile` with the client's chain as untrusted intermediates. */
  verified: boolean;
  verifyOutput: string;
  /** subjectAltName entries as openssl prints them, e.g. `DNS:a.acme.test`, `IP Address:127.0.0.1`. */
  sans: string[];
  /** Upper-case hex, no leading "serial=". */
  serial: string;
  /** The key file's public key is the certificate's. */
  keyMatches: boolean;
  /** keyUsage, extendedKeyUsage and basicConstraints as openssl prints them (e.g. `TLS Web Server Authentication`). */
  extensions: string;
}

/** Checks an obtained certificate with openssl (the reference tool, not certctl's code). */
export function checkObtained(obtained: ObtainedCertificate, rootFile: string): CertificateCheck {
  const verify = run('openssl', ['verify', '-CAfile', rootFile, '-untrusted', obtained.fullchain, obtained.certificate]);
  const san = run('openssl', ['x509', '-in', obtained.certificate, '-noout', '-ext', 'subjectAltName']).stdout;
  const sans = san
    .split('\n')
    .slice(1)
    .join(',')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const serial = run('openssl', ['x509', '-in', obtained.certificate, '-noout', '-serial'])
    .stdout.trim()
    .replace(/^serial=/, '');
  const certPub = run('openssl', ['x509', '-in', obtained.certificate, '-noout', '-pubkey']).stdout;
  const keyPub = run('openssl', ['pkey', '-in', obtained.key, '-pubout']).stdout;
  const extensions = run('openssl', ['x509', '-in', obtained.certificate, '-noout', '-ext', 'keyUsage,extendedKeyUsage,basicConstraints']).stdout;
  return {
    verified: verify.status === 0,
    verifyOutput: `${verify.stdout}${verify.stderr}`,
    sans,
    serial,
    keyMatches: certPub !== '' && certPub === keyPub,
    extensions,
  };
}

/** A lego run of legoEveryChallenge: its challenge, the lego (its directory), names, SANs expected, openssl's check. */
export interface LegoRun {
  type: LegoChallenge['type'];
  lego: Lego;
  names: string[];
  sans: string[];
  check: CertificateCheck;
}

/**
 * lego once per challenge type, side by side, each with its own directory under `dir`:
 * http-01 for a name and 127.0.0.1 (RFC 8738), tls-alpn-01 for a name, dns-01 (challtestsrv)
 * for a wildcard; every certificate checked with openssl against `rootFile`.
 */
export async function legoEveryChallenge(
  tools: AcmeTools,
  directory: AcmeDirectory,
  dir: string,
  opts: { http01Port: number; tlsPort: number; dns: Challtestsrv; rootFile: string },
): Promise<LegoRun[]> {
  const plan: { challenge: LegoChallenge; names: string[]; sans: string[] }[] = [
    { challenge: { type: 'http-01', port: opts.http01Port }, names: ['http.acme.test', '127.0.0.1'], sans: ['DNS:http.acme.test', 'IP Address:127.0.0.1'] },
    { challenge: { type: 'tls-alpn-01', port: opts.tlsPort }, names: ['tls.acme.test'], sans: ['DNS:tls.acme.test'] },
    { challenge: { type: 'dns-01', dns: opts.dns }, names: ['*.dns.acme.test'], sans: ['DNS:*.dns.acme.test'] },
  ];
  const legos = plan.map((p) => new Lego(tools, directory, join(dir, `lego-${p.challenge.type}`)));
  const obtained = await allClients(plan.map((p, i) => legos[i].obtain({ names: p.names, challenge: p.challenge })));
  return plan.map((p, i) => ({ type: p.challenge.type, lego: legos[i], names: p.names, sans: p.sans, check: checkObtained(obtained[i], opts.rootFile) }));
}
