import { join } from 'node:path';
import { existsSync, statSync } from 'node:fs';
import { InvalidInputError } from '../../core/errors';
import type { FileToWrite } from '../../core/fs-atomic';
import type { CaRecord, IssuedCertificate } from '../../core/types';
import { kubeconfigYaml, type KubeconfigTarget } from './kubeconfig';

/** Output layouts of `issue --format` and `export --format`. */
export const FORMATS = ['pem', 'p12', 'k8s', 'docker', 'flocker', 'kubeconfig'] as const;
export type OutputFormat = (typeof FORMATS)[number];

/**
 * Validates --format.
 * @throws InvalidInputError for a format not in {@link FORMATS}.
 */
export function checkFormat(format: string): OutputFormat {
  if (!FORMATS.includes(format as OutputFormat)) throw new InvalidInputError(`--format ${format} is not known; choose ${FORMATS.join(', ')}`);
  return format as OutputFormat;
}

/** The trust anchor (root) of a CA: the last certificate of its chain, or the CA itself. */
export function rootOf(ca: CaRecord): string {
  return ca.chainPem.length ? ca.chainPem[ca.chainPem.length - 1] : ca.certPem;
}

/** The leaf followed by every issuing CA below the root: what a TLS server should send. */
export function fullChainOf(certPem: string, ca: CaRecord): string {
  return [certPem, ...(ca.chainPem.length ? [ca.certPem, ...ca.chainPem.slice(0, -1)] : [])].join('');
}

/** A file name from a CN: letters, digits, '.', '_' and '-' only. */
export function safeName(text: string, fallback: string): string {
  const name = text
    .replace(/^\*\./, 'wildcard.')
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^[._]+/, '');
  return name || fallback;
}

/** A Kubernetes object name (RFC 1123 subdomain) from a CN. */
export function k8sName(text: string, fallback: string): string {
  const name = text
    .toLowerCase()
    .replace(/^\*\./, 'wildcard.')
    .replace(/[^a-z0-9.-]+/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '')
    .slice(0, 240);
  return `${name || fallback}-tls`;
}

/** A kubernetes.io/tls Secret manifest. The key is base64 in `data`, like kubectl writes it. */
export function k8sSecret(name: string, certChainPem: string, keyPem: string, caPem: string): string {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  // Hand-written YAML: a fixed shape whose values are base64 or a validated RFC 1123 name, so nothing needs quoting.
  return [
    'apiVersion: v1',
    'kind: Secret',
    'metadata:',
    `  name: ${name}`,
    'type: kubernetes.io/tls',
    'data:',
    `  tls.crt: ${b64(certChainPem)}`,
    `  tls.key: ${b64(keyPem)}`,
    `  ca.crt: ${b64(caPem)}`,
    '',
  ].join('\n');
}

/** What some layouts need besides the certificate: the kubeconfig's server and cluster name. */
export interface LayoutOptions {
  kubeconfig?: KubeconfigTarget;
}

/**
 * Files for one issued certificate in a layout (p12 is built by p12.ts: it needs a password).
 * @throws InvalidInputError when the layout needs a key the store does not hold, or (kubeconfig) no target was given.
 */
export function layoutFiles(
  format: Exclude<OutputFormat, 'p12'>,
  dir: string,
  item: IssuedCertificate,
  ca: CaRecord,
  options: LayoutOptions = {},
): FileToWrite[] {
  const cert = item.certPem;
  const key = item.keyPem;
  const root = rootOf(ca);
  const chain = fullChainOf(cert, ca);
  const pub = (name: string, data: string): FileToWrite => ({ path: join(dir, name), data, mode: 0o644 });
  const secret = (name: string, data: string): FileToWrite => ({ path: join(dir, name), data, mode: 0o600 });
  const cn = item.record.commonName;
  const keyFiles = (name: string) => (key ? [secret(name, key)] : []);
  switch (format) {
    case 'pem':
      return [pub('cert.pem', cert), ...keyFiles('key.pem'), pub('ca.pem', root), pub('chain.pem', chain)];
    case 'docker':
      // Docker's daemon and client file names (docs.docker.com "Protect the Docker daemon socket").
      return item.record.profile === 'server'
        ? [pub('server-cert.pem', chain), ...keyFiles('server-key.pem'), pub('ca.pem', root)]
        : [pub('cert.pem', chain), ...keyFiles('key.pem'), pub('ca.pem', root)];
    case 'flocker': {
      // flocker-ca's names: <uuid>.crt/.key for nodes, control-<host> for the control service, cluster.crt for the CA.
      const base = item.record.profile === 'server' ? `control-${safeName(cn, item.record.serial)}` : safeName(cn, item.record.serial);
      return [pub(`${base}.crt`, chain), ...keyFiles(`${base}.key`), pub('cluster.crt', root)];
    }
    case 'k8s': {
      if (!key) throw new InvalidInputError(`serial ${item.record.serial}: a Kubernetes TLS secret needs the private key, and the store holds none`);
      const name = k8sName(cn || item.record.dnsNames[0] || '', item.record.serial.toLowerCase());
      return [secret(`${name}.yaml`, k8sSecret(name, chain, key, root))];
    }
    case 'kubeconfig':
      if (!options.kubeconfig) throw new InvalidInputError('--format kubeconfig needs --server https://HOST:PORT');
      return [secret('kubeconfig', kubeconfigYaml(item, root, chain, options.kubeconfig))];
  }
}

/**
 * Checks an output directory before anything is issued; it is created (0700) only
 * when the outputs are staged, so a refused request leaves nothing behind.
 * @throws InvalidInputError when `dir` exists and is not a directory.
 */
export function checkOutDir(dir: string): void {
  if (existsSync(dir) && !statSync(dir).isDirectory()) {
    throw new InvalidInputError(`--out ${dir} is a file; give a directory`);
  }
}

/**
 * Checks that an output file path is not a directory.
 * @throws InvalidInputError when it is.
 */
export function checkOutFile(path: string): void {
  if (existsSync(path) && statSync(path).isDirectory()) {
    throw new InvalidInputError(`--out ${path} is a directory; give a file path for this format`);
  }
}
