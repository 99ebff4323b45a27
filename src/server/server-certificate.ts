import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { isIP } from 'node:net';
import { ConfigError } from '../core/errors';
import { generateEncodedKey } from '../core/key-encoding';
import { buildCsrDer } from '../core/x509/csr-builder';
import { createDerSigner } from '../core/x509/signing';
import type { CaServices } from './ca-services';
import type { ServeOptions } from './config';

/** The server's TLS identity: key and certificate chain (PEM), and when it should be replaced. */
export interface ServerCertificate {
  keyPem: string;
  certPem: string;
  /** Where it came from, for the start-up log line. */
  source: string;
  serial?: string;
  /** When to renew (two thirds into its life) — undefined for a certificate from files (SIGHUP reloads those). */
  renewAt?: Date;
}

/** The names of the certificate the server issues itself: the listen address, `localhost`, and serve.tls.names. */
export function serverNames(options: ServeOptions): { dnsNames: string[]; ipAddresses: string[] } {
  const wildcard = options.host === '0.0.0.0' || options.host === '::';
  const names = new Set([wildcard ? hostname() : options.host, 'localhost', ...options.tls.names]);
  const dnsNames = [...names].filter((n) => isIP(n) === 0).map((n) => n.toLowerCase());
  const ipAddresses = [...names].filter((n) => isIP(n) !== 0);
  return { dnsNames, ipAddresses };
}

/**
 * The server's certificate: read from serve.tls.cert/key when given; else issued now by the
 * default CA (server profile, key made and kept in memory only, so no server key ever sits in
 * the store or on disk; a restart issues a new one).
 * @throws ConfigError when the files cannot be read or do not match; the core's errors when the CA
 *   refuses the server's names (its policy, e.g. profiles.server.allowed_dns) — then give serve.tls files.
 */
export async function loadServerCertificate(options: ServeOptions, services: CaServices): Promise<ServerCertificate> {
  if (options.tls.certPath && options.tls.keyPath) return readServerCertificate(options.tls.certPath, options.tls.keyPath);
  const { dnsNames, ipAddresses } = serverNames(options);
  const key = await generateEncodedKey('ec-p256');
  const commonName = dnsNames[0] ?? ipAddresses[0];
  const csrDer = buildCsrDer({ commonName, dnsNames, ipAddresses, spkiDer: key.spkiDer }, createDerSigner(key.privateKey()));
  const service = services.service();
  const result = await service.signRequest(
    { commonName, subject: {}, dnsNames, ipAddresses, uris: [], emails: [], spkiDer: key.spkiDer, keyType: 'ec-p256', csrDer, ignored: [] },
    'server',
    options.tls.ttlSeconds,
    'the server certificate (serve.tls)',
    { auditDetail: { purpose: 'certctl serve TLS' } },
  );
  const item = result.items[0];
  const notBefore = Date.parse(item.record.notBefore);
  const notAfter = Date.parse(item.record.notAfter);
  return {
    keyPem: key.pkcs8Pem,
    certPem: [item.certPem, ...(result.ca.chainPem.length ? [result.ca.certPem, ...result.ca.chainPem.slice(0, -1)] : [])].join(''),
    source: `issued by CA "${result.ca.name}" for ${[...dnsNames, ...ipAddresses].join(', ')}`,
    serial: item.record.serial,
    renewAt: new Date(notBefore + ((notAfter - notBefore) * 2) / 3),
  };
}

function readServerCertificate(certPath: string, keyPath: string): ServerCertificate {
  let certPem: string;
  let keyPem: string;
  try {
    certPem = readFileSync(certPath, 'utf8');
    keyPem = readFileSync(keyPath, 'utf8');
  } catch (err) {
    throw new ConfigError(`serve.tls: cannot read ${(err as NodeJS.ErrnoException).path ?? certPath} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, {
      cause: err,
    });
  }
  try {
    if (!new X509Certificate(certPem).checkPrivateKey(createPrivateKey(keyPem))) throw new ConfigError(`serve.tls: ${keyPath} is not the key of ${certPath}`);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`serve.tls: ${certPath} / ${keyPath} are not a PEM certificate and its key`, { cause: err });
  }
  return { keyPem, certPem, source: certPath };
}
