import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OpenStackServers } from './servers';

/**
 * Keystone's REST API as the test Keystone's bootstrap admin: users, roles, tokens and catalog
 * entries a test makes for itself (unique names) and deletes afterwards.
 */
export class KeystoneAdmin {
  private readonly cleanups: (() => Promise<unknown>)[] = [];

  private constructor(
    readonly url: string,
    private readonly token: string,
  ) {}

  /** Logs in as `admin` on project `admin`. */
  static async login(servers: OpenStackServers): Promise<KeystoneAdmin> {
    if (!servers.keystoneAdminPassword) throw new Error('CERTCTL_IT_KEYSTONE_ADMIN_PASSWORD is not set');
    return new KeystoneAdmin(servers.authUrl, await userToken(servers.authUrl, 'admin', servers.keystoneAdminPassword, 'admin'));
  }

  /** One call with the admin token; throws on a status outside `ok`. */
  async call(method: string, path: string, body?: unknown, ok = [200, 201, 204], headers: Record<string, string> = {}): Promise<any> {
    const res = await fetch(`${this.url}${path}`, {
      method,
      headers: { 'X-Auth-Token': this.token, ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    if (!ok.includes(res.status)) throw new Error(`Keystone ${method} ${path} → ${res.status} ${text.slice(0, 300)}`);
    return text ? JSON.parse(text) : undefined;
  }

  async projectId(name: string): Promise<string> {
    const found = (await this.call('GET', `/projects?name=${encodeURIComponent(name)}`)).projects;
    if (!found.length) throw new Error(`no Keystone project ${name}`);
    return found[0].id;
  }

  /** A role that exists (made if missing, left in place: shared roles like `service`). */
  async ensureRole(name: string): Promise<string> {
    const found = (await this.call('GET', `/roles?name=${encodeURIComponent(name)}`)).roles;
    if (found.length) return found[0].id;
    return (await this.call('POST', '/roles', { role: { name } })).role.id;
  }

  /** A new role, deleted by {@link cleanup}. */
  async createRole(name: string): Promise<string> {
    const id = (await this.call('POST', '/roles', { role: { name } })).role.id;
    this.cleanups.push(() => this.call('DELETE', `/roles/${id}`, undefined, [204, 404]));
    return id;
  }

  /** A new user with a random password and the given roles on a project; deleted by {@link cleanup}. */
  async createUser(name: string, projectId: string, roleIds: string[]): Promise<{ id: string; name: string; password: string }> {
    const password = randomBytes(18).toString('base64url');
    const id = (await this.call('POST', '/users', { user: { name, password, domain_id: 'default', default_project_id: projectId, enabled: true } })).user.id;
    this.cleanups.push(() => this.call('DELETE', `/users/${id}`, undefined, [204, 404]));
    for (const role of roleIds) await this.call('PUT', `/projects/${projectId}/users/${id}/roles/${role}`);
    return { id, name, password };
  }

  /** Revokes a token (as `openstack token revoke`). */
  async revokeToken(token: string): Promise<void> {
    await this.call('DELETE', '/auth/tokens', undefined, [204], { 'X-Subject-Token': token });
  }

  /** A catalog entry: a service of `type` (made if missing, kept) with a public endpoint in a new region; the region and endpoint deleted by {@link cleanup}. */
  async catalogEntry(type: string, url: string): Promise<{ region: string }> {
    const services = (await this.call('GET', `/services?type=${encodeURIComponent(type)}`)).services;
    const serviceId = services.length ? services[0].id : (await this.call('POST', '/services', { service: { type, name: type, enabled: true } })).service.id;
    const region = `certctl-it-${randomBytes(4).toString('hex')}`;
    await this.call('POST', '/regions', { region: { id: region } });
    this.cleanups.push(() => this.call('DELETE', `/regions/${region}`, undefined, [204, 404]));
    const endpoint = (
      await this.call('POST', '/endpoints', { endpoint: { service_id: serviceId, interface: 'public', url, region_id: region, enabled: true } })
    ).endpoint.id;
    this.cleanups.push(() => this.call('DELETE', `/endpoints/${endpoint}`, undefined, [204, 404]));
    return { region };
  }

  /** Deletes what this admin created, newest first. */
  async cleanup(): Promise<void> {
    for (const undo of this.cleanups.reverse()) await undo();
    this.cleanups.length = 0;
  }
}

/** A project-scoped token of a user (password method), as `openstack token issue` gets it. */
export async function userToken(url: string, user: string, password: string, project: string): Promise<string> {
  const res = await fetch(`${url}/auth/tokens?nocatalog`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      auth: {
        identity: { methods: ['password'], password: { user: { name: user, domain: { id: 'default' }, password } } },
        scope: { project: { name: project, domain: { id: 'default' } } },
      },
    }),
  });
  const token = res.headers.get('x-subject-token');
  if (res.status !== 201 || !token) throw new Error(`Keystone login of ${user} → ${res.status}`);
  return token;
}

/** The Keystone side of a `certctl serve` test, each name unique to it. */
export interface ServeKeystone {
  admin: KeystoneAdmin;
  /** A new role, for serve.keystone.roles to map. */
  roleName: string;
  /** certctl's service user: role `service` on project `service` (what validating tokens needs). */
  service: { id: string; name: string; password: string };
  /** A user of project demo with the new role (and `member`), and its token. */
  user: { id: string; name: string; password: string; token: string };
  /** A user of project demo with `member` only, and its token. */
  noRole: { id: string; name: string; password: string; token: string };
}

/** Makes the users and role of {@link ServeKeystone} (`admin.cleanup()` deletes them). */
export async function serveKeystone(servers: OpenStackServers, tag: string): Promise<ServeKeystone> {
  const suffix = `${tag}-${randomBytes(4).toString('hex')}`;
  const admin = await KeystoneAdmin.login(servers);
  const demo = await admin.projectId('demo');
  const roleName = `certctl-it-${suffix}`;
  const role = await admin.createRole(roleName);
  const member = await admin.ensureRole('member');
  const service = await admin.createUser(`certctl-svc-${suffix}`, await admin.projectId('service'), [await admin.ensureRole('service')]);
  const user = await admin.createUser(`it-user-${suffix}`, demo, [role, member]);
  const noRole = await admin.createUser(`it-norole-${suffix}`, demo, [member]);
  return {
    admin,
    roleName,
    service,
    user: { ...user, token: await userToken(servers.authUrl, user.name, user.password, 'demo') },
    noRole: { ...noRole, token: await userToken(servers.authUrl, noRole.name, noRole.password, 'demo') },
  };
}

/**
 * `serve.keystone` of certctl.yaml (lines indented for under `serve:`) for {@link ServeKeystone}'s
 * service user, mapping its new role to `certctlRole`; the password is written to DIR/keystone.pw.
 */
export function serveKeystoneYaml(servers: OpenStackServers, ks: ServeKeystone, dir: string, certctlRole: string): string {
  writeFileSync(join(dir, 'keystone.pw'), `${ks.service.password}\n`, { mode: 0o600 });
  return [
    '  keystone:',
    `    url: ${servers.authUrl}`,
    `    username: ${ks.service.name}`,
    '    password_file: keystone.pw',
    '    project: service',
    `    roles: { ${ks.roleName}: ${certctlRole} }`,
    '',
  ].join('\n');
}
