import { X509Certificate } from 'node:crypto';
import type { Command } from 'commander';
import { InvalidInputError } from '../../core/errors';
import type { IssuedCertificate } from '../../core/types';

/** Where a kubeconfig points: the API server and the cluster's name in the file. */
export interface KubeconfigTarget {
  server: string;
  clusterName: string;
}

const EKU_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

/** Adds --server and --cluster-name (the kubeconfig layout's flags) to a command that writes layouts. */
export function withKubeconfigOptions(cmd: Command): Command {
  return cmd
    .option('--server <url>', 'Kubernetes API server, https://HOST:PORT (with --format kubeconfig)')
    .option('--cluster-name <name>', 'cluster name in the kubeconfig (default: the CA name)');
}

/**
 * Validates --server / --cluster-name against --format: the kubeconfig layout needs an https
 * server URL (kubectl would send the client key's signature to anyone on plain http, and the
 * API server never listens there), and the two flags mean nothing with another format.
 * The cluster name defaults to the CA's name: one CA per cluster, as Magnum keeps them.
 * @throws InvalidInputError naming --server or --cluster-name.
 */
export function kubeconfigTarget(
  format: string,
  opts: { server?: string; clusterName?: string },
  caName: string,
  /** The flag that gave `server` (`enroll` has its own --server: the CA's). */
  serverFlag = '--server',
): KubeconfigTarget | undefined {
  if (format !== 'kubeconfig') {
    if (opts.server !== undefined) throw new InvalidInputError(`${serverFlag} is only used with --format kubeconfig`);
    if (opts.clusterName !== undefined) throw new InvalidInputError('--cluster-name is only used with --format kubeconfig');
    return undefined;
  }
  if (opts.server === undefined) throw new InvalidInputError(`--format kubeconfig needs ${serverFlag} https://HOST:PORT (the Kubernetes API server)`);
  let url: URL;
  try {
    url = new URL(opts.server);
  } catch {
    throw new InvalidInputError(`${serverFlag} "${opts.server}" is not a URL; write https://HOST:PORT`);
  }
  if (url.protocol !== 'https:' || !url.hostname) throw new InvalidInputError(`${serverFlag} "${opts.server}" must be an https:// URL with a host`);
  if (url.username || url.password)
    throw new InvalidInputError(`${serverFlag} must not carry credentials; the kubeconfig authenticates with the client certificate`);
  if (url.search || url.hash) throw new InvalidInputError(`${serverFlag} "${opts.server}" must not have a query or fragment`);
  const clusterName = opts.clusterName ?? caName;
  if (!clusterName.trim() || /[\p{Cc}]/u.test(clusterName)) throw new InvalidInputError('--cluster-name must be a non-empty name without control characters');
  // Keep what the user typed (minus a trailing slash): kubectl compares it as text with its own config.
  return { server: opts.server.replace(/\/+$/, ''), clusterName };
}

/**
 * A kubeconfig (what `magnum cluster-config` hands its users) with the CA (`rootPem`), the client
 * certificate chain (`chainPem`: leaf and intermediates) and its key embedded; user = the CN (the serial when the subject is empty), context
 * `USER@CLUSTER`, set as current.
 * @throws InvalidInputError when the store holds no key or the certificate cannot authenticate a client.
 */
export function kubeconfigYaml(item: IssuedCertificate, rootPem: string, chainPem: string, target: KubeconfigTarget): string {
  const { record, keyPem } = item;
  if (!keyPem) throw new InvalidInputError(`serial ${record.serial}: a kubeconfig needs the private key, and the store holds none (signed from a CSR)`);
  if (!(new X509Certificate(item.certPem).keyUsage ?? []).includes(EKU_CLIENT_AUTH)) {
    throw new InvalidInputError(`serial ${record.serial} (${record.profile}) has no clientAuth usage; a kubeconfig needs a client, peer or node certificate`);
  }
  const b64 = (pem: string) => Buffer.from(pem).toString('base64');
  const user = record.commonName || record.serial;
  const context = `${user}@${target.clusterName}`;
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: target.clusterName, cluster: { server: target.server, 'certificate-authority-data': b64(rootPem) } }],
    users: [{ name: user, user: { 'client-certificate-data': b64(chainPem), 'client-key-data': b64(keyPem) } }],
    contexts: [{ name: context, context: { cluster: target.clusterName, user } }],
    'current-context': context,
    preferences: {},
  };
  // The yaml package quotes what needs quoting (Kubernetes CNs such as system:node:web-1 hold colons).
  const { stringify } = require('yaml') as typeof import('yaml');
  return stringify(config, { lineWidth: 0 });
}
