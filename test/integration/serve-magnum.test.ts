/**
 * Magnum's certificate API on `certctl serve` (the built CLI, file backend), called as Magnum's
 * clients call it, with tokens from the real Keystone the suite runs: curl with X-Auth-Token,
 * python-magnumclient's own CSR (CN=admin, O=system:masters, made by its generate_csr_and_key),
 * an mTLS client (the conductor), and `openstack coe ca show|sign` finding certctl through a
 * Keystone catalog entry of type container-infra. Answers are checked against /openapi.json.
 */
import { randomBytes, randomUUID, X509Certificate } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ok, requireBuiltCli, requireTool, run, tempDir } from '../support/cli';
import { serveKeystone, serveKeystoneYaml, type KeystoneAdmin } from '../support/keystone-admin';
import { openApiValidator } from '../support/openapi';
import { curlJson, httpsCall, startServe, type HttpsAnswer, type ServeProcess } from '../support/serve';
import { describeWithOpenStack } from '../support/servers';

jest.setTimeout(180000);

/** Debian's interpreter, where python3-magnumclient (tools/install-test-deps.sh) is installed. */
const PYTHON = '/usr/bin/python3';

describeWithOpenStack("certctl serve: Magnum's certificate API", (servers) => {
  const { dir, cleanup } = tempDir('certctl-serve-magnum-');
  const suffix = randomBytes(4).toString('hex');
  const cluster = randomUUID();
  const foreign = randomUUID();
  const strict = randomUUID();
  let admin: KeystoneAdmin;
  let server: ServeProcess;
  let validate: (path: string, method: string, answer: HttpsAnswer) => void;
  let user: { name: string; password: string };
  let token: string;
  let noRoleToken: string;
  let csrPem: string;

  beforeAll(async () => {
    requireBuiltCli();
    requireTool('curl', ['--version']);
    requireTool('openssl', ['version']);
    const probe = spawnSync(PYTHON, ['-c', 'import magnumclient'], { encoding: 'utf8' });
    if (probe.status !== 0) throw new Error(`python3-magnumclient is missing (tools/install-test-deps.sh installs it): ${probe.stderr}`);

    const ks = await serveKeystone(servers, 'magnum');
    ({ admin, user } = ks);
    token = ks.user.token;
    noRoleToken = ks.noRole.token;

    writeFileSync(
      join(dir, 'certctl.yaml'),
      `profiles:
  client:
    allowed_organizations: ["system:masters"]
  client-strict:
    base: client
serve:
  roles:
    kube-users: { profiles: [client, client-strict], names: [admin] }
  clients:
    - { cn: magnum-conductor, role: kube-users }
${serveKeystoneYaml(servers, ks, dir, 'kube-users')}  clusters:
    ${cluster}: { ca: default, etcd_ca: etcd, name: k8s-it-${suffix} }
    ${foreign}: { ca: default, project: ${await admin.projectId('service')} }
    ${strict}: { ca: default, profile: client-strict }
`,
    );
    ok(dir, ['init', '--cn', 'Magnum Cluster CA']);
    ok(dir, ['--ca', 'etcd', 'init', '--cn', 'Magnum etcd CA']);
    ok(dir, ['issue', 'client', '--cn', 'magnum-conductor', '--out', join(dir, 'conductor')]);
    // The CSR `openstack coe cluster config` sends, made by python-magnumclient itself.
    const made = spawnSync(PYTHON, ['-c', 'from magnumclient.common.utils import generate_csr_and_key as g; print(g()["csr"], end="")'], { encoding: 'utf8' });
    if (made.status !== 0) throw new Error(made.stderr);
    csrPem = made.stdout;
    writeFileSync(join(dir, 'admin.csr'), csrPem);
    server = await startServe(dir);
    validate = await openApiValidator(server);
  });

  afterAll(async () => {
    if (server) expect(await server.stop()).toBe(0);
    await admin?.cleanup();
    cleanup();
  });

  const auth = (t = token) => ({ headers: { 'X-Auth-Token': t } });
  const caPem = (ca: string) => ok(dir, ['--ca', ca, 'ca', 'show']).stdout;

  it('GET /v1/certificates/{cluster}: the CA certificate of the cluster (curl with a Keystone token), by UUID or name, per ca_cert_type', async () => {
    const r = curlJson(server, `/v1/certificates/${cluster}`, auth());
    expect(r.status).toBe(200);
    const body = r.body;
    expect(body).toMatchObject({ cluster_uuid: cluster, pem: caPem('default') });
    expect(body.links[0]).toEqual({ href: `${server.url}/v1/certificates/${cluster}`, rel: 'self' });

    const byName = await httpsCall(server, 'GET', `/v1/certificates/k8s-it-${suffix}`, auth());
    expect(byName.body.cluster_uuid).toBe(cluster);
    const etcd = await httpsCall(server, 'GET', `/v1/certificates/${cluster}?ca_cert_type=etcd`, auth());
    expect(etcd.status).toBe(200);
    expect(etcd.body).toMatchObject({ cluster_uuid: cluster, pem: caPem('etcd'), ca_cert_type: 'etcd' });
    validate('/v1/certificates/{cluster}', 'get', etcd);
  });

  it("POST /v1/certificates signs python-magnumclient's CSR: CN=admin, O=system:masters kept, clientAuth, verified by openssl", async () => {
    const r = await httpsCall(server, 'POST', '/v1/certificates', { ...auth(), json: { cluster_uuid: cluster, csr: csrPem } });
    expect(r.status).toBe(201);
    validate('/v1/certificates', 'post', r);
    expect(r.body).toMatchObject({ cluster_uuid: cluster, csr: csrPem });
    expect(r.body.warnings).toBeUndefined();
    const cert = new X509Certificate(r.body.pem);
    expect(cert.subject.split('\n').sort()).toEqual(['CN=admin', 'O=system:masters']);
    writeFileSync(join(dir, 'admin.crt'), r.body.pem);
    const text = run('openssl', ['x509', '-noout', '-text', '-in', join(dir, 'admin.crt')]).stdout;
    expect(text).toMatch(/X509v3 Extended Key Usage:\s*\n\s*TLS Web Client Authentication\n/);
    const verify = run('openssl', ['verify', '-CAfile', server.caFile, '-purpose', 'sslclient', join(dir, 'admin.crt')]);
    expect(verify.stdout).toMatch(/OK/);
    const record = ok(dir, ['show', cert.serialNumber, '--json']).json?.result;
    expect(record).toMatchObject({ profile: 'client', commonName: 'admin', subject: { O: ['system:masters'] } });
  });

  it('drops O=system:masters, with a warning, for a cluster whose profile does not allow it (as `certctl sign` does)', async () => {
    const r = await httpsCall(server, 'POST', '/v1/certificates', { ...auth(), json: { cluster_uuid: strict, csr: csrPem } });
    expect(r.status).toBe(201);
    validate('/v1/certificates', 'post', r);
    expect(new X509Certificate(r.body.pem).subject).toBe('CN=admin');
    expect(r.body.warnings).toEqual([expect.stringMatching(/not taken from the CSR: subject O/)]);
    const record = ok(dir, ['show', new X509Certificate(r.body.pem).serialNumber, '--json']).json?.result;
    expect(record).toMatchObject({ profile: 'client-strict', commonName: 'admin' });
  });

  it("an unknown cluster: 404 on GET, 400 on POST (as Magnum answers), each a problem document with Magnum's errors list, as JSON", async () => {
    const missing = randomUUID();
    const get = await httpsCall(server, 'GET', `/v1/certificates/${missing}`, auth());
    expect(get.status).toBe(404);
    expect(get.headers['content-type']).toBe('application/json; charset=utf-8'); // as Magnum's: python-magnumclient reads no other
    expect(get.body).toMatchObject({ code: 'not_found', status: 404 });
    expect(get.body.errors[0]).toMatchObject({ code: 'client', status: 404, title: get.body.detail });
    expect(get.headers['x-openstack-request-id']).toBe(`req-${String(get.headers['x-request-id'])}`);
    validate('/v1/certificates/{cluster}', 'get', get);
    const post = await httpsCall(server, 'POST', '/v1/certificates', { ...auth(), json: { cluster_uuid: missing, csr: csrPem } });
    expect(post.status).toBe(400);
    expect(post.body.detail).toMatch(/no Magnum cluster/);
    validate('/v1/certificates', 'post', post);
  });

  it('refuses a CA type the cluster has none of (404) or that Magnum does not have (400), and CA rotation (400 not_supported)', async () => {
    const proxy = await httpsCall(server, 'GET', `/v1/certificates/${cluster}?ca_cert_type=front-proxy`, auth());
    expect(proxy.status).toBe(404);
    expect(proxy.body.detail).toMatch(/front_proxy_ca/);
    const bogus = await httpsCall(server, 'POST', '/v1/certificates', { ...auth(), json: { cluster_uuid: cluster, csr: csrPem, ca_cert_type: 'root' } });
    expect(bogus.status).toBe(400);
    const rotate = await httpsCall(server, 'PATCH', `/v1/certificates/${cluster}`, auth());
    expect(rotate.status).toBe(400);
    expect(rotate.body.code).toBe('not_supported');
    validate('/v1/certificates/{cluster}', 'patch', rotate);
  });

  it("keeps clusters to their project, and tokens to their roles: another project's cluster 403, no mapped role 403, a bogus token 401", async () => {
    const other = await httpsCall(server, 'GET', `/v1/certificates/${foreign}`, auth());
    expect(other.status).toBe(403);
    expect(other.body.detail).toMatch(/another Keystone project/);
    const noRole = await httpsCall(server, 'GET', `/v1/certificates/${cluster}`, auth(noRoleToken));
    expect(noRole.status).toBe(403);
    expect(noRole.body.detail).toMatch(/holds no certctl role/);
    const bogus = await httpsCall(server, 'POST', '/v1/certificates', { ...auth(`gAAAAAB${'y'.repeat(180)}`), json: { cluster_uuid: cluster, csr: csrPem } });
    expect(bogus.status).toBe(401);
    expect(bogus.body.errors[0]).toMatchObject({ status: 401 });
    validate('/v1/certificates', 'post', bogus);
  });

  it('takes an mTLS client (the conductor) as well as a Keystone token', async () => {
    const cert = { cert: join(dir, 'conductor', 'cert.pem'), key: join(dir, 'conductor', 'key.pem') };
    const r = await httpsCall(server, 'POST', '/v1/certificates', { ...cert, json: { cluster_uuid: cluster, csr: csrPem } });
    expect(r.status).toBe(201);
    expect(new X509Certificate(r.body.pem).checkIssued(new X509Certificate(caPem('default')))).toBe(true);
  });

  it('`openstack coe ca show` and `openstack coe ca sign` (python-magnumclient) work against certctl through the Keystone catalog', async () => {
    const { region } = await admin.catalogEntry('container-infra', `${server.url}/v1`);
    const openstack = (args: string[]) => {
      const env: Record<string, string> = {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: dir,
        OS_AUTH_URL: servers.authUrl,
        OS_IDENTITY_API_VERSION: '3',
        OS_USERNAME: user.name,
        OS_PASSWORD: user.password,
        OS_PROJECT_NAME: 'demo',
        OS_USER_DOMAIN_NAME: 'Default',
        OS_PROJECT_DOMAIN_NAME: 'Default',
        OS_REGION_NAME: region,
        OS_INTERFACE: 'public',
        OS_CACERT: server.caFile,
      };
      return spawnSync('/usr/bin/openstack', args, { cwd: dir, env, encoding: 'utf8', timeout: 60000 });
    };
    const succeeds = (args: string[]) => {
      const r = openstack(args);
      if (r.status !== 0) throw new Error(`openstack ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
      return r.stdout;
    };
    expect(succeeds(['coe', 'ca', 'show', cluster]).trim()).toBe(caPem('default').trim());
    const signed = succeeds(['coe', 'ca', 'sign', `k8s-it-${suffix}`, join(dir, 'admin.csr')]);
    const cert = new X509Certificate(signed.trim());
    expect(cert.subject.split('\n').sort()).toEqual(['CN=admin', 'O=system:masters']);
    expect(cert.checkIssued(new X509Certificate(caPem('default')))).toBe(true);
    // certctl's refusal, as the client prints Magnum's: the detail and the status, no traceback.
    const missing = openstack(['coe', 'ca', 'show', randomUUID()]);
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toMatch(/no Magnum cluster .* in serve\.clusters.*\(HTTP 404\)/);
    expect(missing.stderr).not.toMatch(/Traceback/);
  });
});
