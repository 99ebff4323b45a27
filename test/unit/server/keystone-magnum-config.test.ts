/**
 * serve.keystone and serve.clusters / serve.magnum of certctl.yaml: the service user's password
 * from a file or CERTCTL_KEYSTONE_PASSWORD (never kept where the options print), the cache bound,
 * and clusters mapped to one CA or to a CA per Magnum ca_cert_type; and the cluster rules the
 * Magnum routes apply (ca_cert_type values, lookup by UUID or name, project binding).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../../src/core/config/load';
import { ConfigError, InvalidInputError, NotFoundError, PolicyError } from '../../../src/core/errors';
import type { Principal } from '../../../src/server/access';
import { parseServeOptions } from '../../../src/server/config';
import { caCertType, clusterCa, clusterFor, missingOnGet, missingOnPost } from '../../../src/server/magnum/clusters';
import { tempDir } from '../../support/cli';

const KEYSTONE = `serve:
  roles:
    signer: { profiles: [client] }
  keystone:
    url: http://keystone.example:5000/v3/
    username: certctl
    project: service
    roles: { member: signer }
`;

describe('serve.keystone and serve.clusters', () => {
  const { dir, cleanup } = tempDir('certctl-serve-config-');
  afterAll(cleanup);

  const parse = (yaml: string, env: Record<string, string> = {}) => {
    writeFileSync(join(dir, 'certctl.yaml'), yaml);
    return parseServeOptions(loadConfig({ configPath: join(dir, 'certctl.yaml') }, env, dir, ['serve']));
  };

  it('reads the password from CERTCTL_KEYSTONE_PASSWORD or password_file, and keeps it out of what the options print', () => {
    const fromEnv = parse(KEYSTONE, { CERTCTL_KEYSTONE_PASSWORD: 's3cret-env' }).keystone!;
    expect(fromEnv.password()).toBe('s3cret-env');
    expect(fromEnv).toMatchObject({
      url: 'http://keystone.example:5000/v3',
      username: 'certctl',
      project: { name: 'service', domain: 'Default' },
      cacheTtlSeconds: 60,
    });
    expect(JSON.stringify(fromEnv)).not.toContain('s3cret');
    writeFileSync(join(dir, 'pw'), 's3cret-file\nsecond line ignored\n');
    const fromFile = parse(KEYSTONE.replace('username: certctl', 'username: certctl\n    password_file: pw'), { CERTCTL_KEYSTONE_PASSWORD: 'env' }).keystone!;
    expect(fromFile.password()).toBe('s3cret-file');
    expect(fromFile.roles.get('member')?.name).toBe('signer');
  });

  it('refuses a Keystone section without a password, without a project, with a cache over 60s or a role map to an unknown role', () => {
    expect(() => parse(KEYSTONE)).toThrow(ConfigError);
    expect(() => parse(KEYSTONE)).toThrow(/serve\.keystone: no password for certctl; set password_file or CERTCTL_KEYSTONE_PASSWORD/);
    const env = { CERTCTL_KEYSTONE_PASSWORD: 'x' };
    expect(() => parse(KEYSTONE.replace('    project: service\n', ''), env)).toThrow(/serve\.keystone\.project/);
    expect(() => parse(KEYSTONE.replace('project: service', 'project: service\n    cache_ttl: 5m'), env)).toThrow(/cache_ttl: at most 60s/);
    expect(parse(KEYSTONE.replace('project: service', 'project: service\n    cache_ttl: 0s'), env).keystone!.cacheTtlSeconds).toBe(0);
    expect(() => parse(KEYSTONE.replace('{ member: signer }', '{ member: nobody }'), env)).toThrow(/keystone\.roles\.member: no role "nobody"/);
    writeFileSync(join(dir, 'empty'), '');
    expect(() => parse(KEYSTONE.replace('username: certctl', 'username: certctl\n    password_file: empty'), env)).toThrow(InvalidInputError);
  });

  it('maps a cluster to one CA, or to a CA per ca_cert_type with its own profile, project and name; Magnum CSRs default to the client profile', () => {
    const o = parse(`profiles:
  kube-admin: { base: client, organization: ["system:masters"] }
serve:
  magnum: { profile: kube-admin }
  clusters:
    1111: default
    2222: { ca: kube, etcd_ca: etcd, front_proxy_ca: proxy, profile: peer, project: p1, name: prod }
`);
    expect(o.clusters.get('1111')).toEqual({ uuid: '1111', cas: { kubernetes: 'default' } });
    expect(o.clusters.get('2222')).toMatchObject({
      name: 'prod',
      cas: { kubernetes: 'kube', etcd: 'etcd', front_proxy: 'proxy' },
      profile: 'peer',
      project: 'p1',
    });
    expect(o.magnumProfile).toBe('kube-admin');
    expect(parse('serve: {}\n').magnumProfile).toBe('client');
    expect(() => parse('serve:\n  clusters:\n    3333: { etcd_ca: etcd }\n')).toThrow(ConfigError);
    expect(() => parse('serve:\n  magnum: { profile: kube-admn }\n')).toThrow(/serve\.magnum\.profile: no profile "kube-admn"/);
    expect(() => parse('serve:\n  clusters:\n    3333: { ca: default, profile: intermediate }\n')).toThrow(/serve\.clusters\.3333\.profile/);
  });

  it("loads the README's example as written", () => {
    const readme = readFileSync(join(__dirname, '..', '..', '..', 'README.md'), 'utf8');
    const block = /<!-- readme-magnum-example -->\n```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBeDefined();
    writeFileSync(join(dir, 'keystone.pw'), 'x\n');
    const o = parse(block!.replace('/etc/certctl/keystone.pw', join(dir, 'keystone.pw')));
    expect(o.keystone).toMatchObject({ url: 'https://keystone.example:5000/v3', username: 'certctl', caFile: '/etc/ssl/openstack-ca.pem' });
    expect(o.keystone!.roles.get('certctl-kube-user')?.profiles).toEqual(['client']);
    expect(o.clusters.get('7ae81bb3-dec3-4289-8d6c-da80bd8001ae')).toMatchObject({ name: 'prod', cas: { etcd: 'etcd-prod', front_proxy: 'proxy-prod' } });
  });

  it('resolves ca_cert_type as Magnum names them, and refuses the rest', () => {
    expect([undefined, '', 'kubernetes', 'etcd', 'front_proxy', 'front-proxy'].map(caCertType)).toEqual([
      'kubernetes',
      'kubernetes',
      'kubernetes',
      'etcd',
      'front_proxy',
      'front_proxy',
    ]);
    expect(() => caCertType('root')).toThrow(InvalidInputError);
    expect(() => caCertType('constructor')).toThrow(InvalidInputError);
  });

  it('finds clusters by UUID or name, keeps project-bound clusters to their project (admins and mTLS clients aside), and names what is missing', () => {
    const o = parse('serve:\n  roles:\n    ops: { admin: true }\n  clusters:\n    1111: default\n    2222: { ca: kube, project: p1, name: prod }\n');
    const keystone = (project: string, admin = false): Principal => ({
      kind: 'keystone',
      id: 'u',
      project,
      roles: admin ? [o.roles.get('ops')!] : [],
    });
    expect(clusterFor(o, 'prod', keystone('p1'), missingOnGet).uuid).toBe('2222');
    expect(clusterFor(o, '1111', keystone('p2'), missingOnGet).uuid).toBe('1111');
    expect(() => clusterFor(o, '2222', keystone('p2'), missingOnGet)).toThrow(PolicyError);
    expect(clusterFor(o, '2222', keystone('p2', true), missingOnGet).uuid).toBe('2222');
    expect(clusterFor(o, '2222', { kind: 'certificate', id: 'default/01', roles: [] }, missingOnGet).uuid).toBe('2222');
    expect(() => clusterFor(o, '9999', keystone('p1'), missingOnGet)).toThrow(NotFoundError);
    expect(() => clusterFor(o, '9999', keystone('p1'), missingOnPost)).toThrow(InvalidInputError);
    expect(() => clusterCa(o.clusters.get('2222')!, 'etcd', missingOnGet)).toThrow(/serve\.clusters\.2222\.etcd_ca/);
  });
});
