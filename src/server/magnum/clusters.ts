import { InvalidInputError, NotFoundError, PolicyError } from '../../core/errors';
import { isAdmin, type Principal } from '../access';
import type { MagnumCluster, ServeOptions } from '../config';

/** Magnum's CA certificate types: the cluster's CA, etcd's CA and the front proxy's CA. */
export type CaCertType = keyof MagnumCluster['cas'];

const CA_CERT_TYPES: Record<string, CaCertType> = { kubernetes: 'kubernetes', etcd: 'etcd', front_proxy: 'front_proxy', 'front-proxy': 'front_proxy' };

/**
 * The `ca_cert_type` of a request (absent: kubernetes). Magnum itself signs with the cluster CA
 * for any value it does not know; certctl refuses one, so a typo never signs with the wrong CA.
 * @throws InvalidInputError naming the values there are.
 */
export function caCertType(value: string | undefined): CaCertType {
  if (value === undefined || value === '') return 'kubernetes';
  const type = Object.prototype.hasOwnProperty.call(CA_CERT_TYPES, value) ? CA_CERT_TYPES[value] : undefined;
  if (!type) throw new InvalidInputError(`ca_cert_type: "${value}" is not one of kubernetes, etcd, front_proxy`);
  return type;
}

/** The cluster `ident` names in serve.clusters: its UUID (the key), or the name given to it there. */
export function findCluster(options: ServeOptions, ident: string): MagnumCluster | undefined {
  return options.clusters.get(ident) ?? [...options.clusters.values()].find((c) => c.name === ident);
}

/**
 * The cluster `ident` names, for a caller allowed to use it: any authenticated caller of a cluster
 * without a project; for a cluster with one, a Keystone token of that project, an admin role, or
 * an mTLS client (whose roles alone decide).
 * @throws what `missing` makes for an unknown cluster (404 on a GET, 400 on a POST as Magnum answers); PolicyError for a token of another project.
 */
export function clusterFor(options: ServeOptions, ident: string, principal: Principal, missing: (message: string) => Error): MagnumCluster {
  const cluster = findCluster(options, ident);
  if (!cluster) {
    const known = options.clusters.size ? `${options.clusters.size} configured` : 'none configured';
    throw missing(`no Magnum cluster "${ident}" in serve.clusters (${known}); map its UUID to a CA there`);
  }
  if (cluster.project && principal.kind === 'keystone' && principal.project !== cluster.project && !isAdmin(principal)) {
    throw new PolicyError(`cluster ${cluster.uuid} belongs to another Keystone project than the token's (serve.clusters.${cluster.uuid}.project)`);
  }
  return cluster;
}

/**
 * The certctl CA that signs for `type` in this cluster. A cluster mapped to one CA has only the
 * kubernetes one: etcd and front-proxy CSRs are refused rather than signed by the cluster CA (a
 * front-proxy certificate from the cluster CA would let any client certificate act as a proxy).
 * @throws what `missing` makes (as for {@link clusterFor}), naming the setting to add.
 */
export function clusterCa(cluster: MagnumCluster, type: CaCertType, missing: (message: string) => Error): string {
  const ca = cluster.cas[type];
  if (!ca) throw missing(`cluster ${cluster.uuid} has no ${type} CA; set serve.clusters.${cluster.uuid}.${type}_ca to a certctl CA`);
  return ca;
}

/** The error of something missing in a GET: 404. */
export const missingOnGet = (message: string): Error => new NotFoundError(message);
/** The error of a POST body naming something missing: 400, as Magnum answers (its 404 is for the resource of the URL). */
export const missingOnPost = (message: string): Error => new InvalidInputError(message);
