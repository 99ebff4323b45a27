/**
 * End to end: README's custom profiles (Kubernetes, etcd, SPIFFE) loaded verbatim, one certificate
 * per profile linted by zlint; subject attributes from flags and from the python-magnumclient CSR
 * under policy; the subject written byte for byte as `openssl req -subj` writes it; URI and email
 * SANs read back by openssl and by Python's cryptography; bad values refused with the right exit
 * code and a message naming the field.
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { certificateParts, readTlv } from '../../src/core/x509/der-reader';
import { pemBlocks } from '../../src/core/x509/pem';
import { certctl, ok, requireBuiltCli, requireTool, run, tempDir } from '../support/cli';

jest.setTimeout(600000);

const REPO = resolve(__dirname, '..', '..');
const ZLINT_CHECK = join(REPO, 'tools', 'zlint-check.sh');
const INSTALL_ZLINT = join(REPO, 'tools', 'install-zlint.sh');
const VERIFY_CHAIN = join(REPO, 'tools', 'verify_chain.py');

/** The YAML block after README's `<!-- readme-profiles-example -->` marker, exactly as written there. */
function readmeProfilesYaml(): string {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const m = /<!-- readme-profiles-example -->\n```yaml\n([\s\S]*?)```/.exec(readme);
  if (!m) throw new Error('README.md has no ```yaml block after <!-- readme-profiles-example -->');
  return m[1];
}

function openssl(cwd: string, args: string[]): string {
  const r = run('openssl', args, { cwd });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} exited ${r.status}\n${r.stderr}`);
  return r.stdout;
}

/** The subject Name DER of a PEM CSR: CertificationRequestInfo's second field. */
function csrSubjectDer(pem: string): Buffer {
  const der = pemBlocks(pem, 'CERTIFICATE REQUEST')[0];
  const info = readTlv(der, readTlv(der, 0).contentStart);
  const version = readTlv(der, info.contentStart);
  const subject = readTlv(der, version.end);
  return der.subarray(subject.start, subject.end);
}

/** Per README profile, the flags of one certificate an operator would ask for. */
const ISSUE_ARGS: Record<string, string[]> = {
  client: ['--cn', 'admin', '--org', 'system:masters'],
  'kube-apiserver': ['--cn', 'kube-apiserver', '--dns', 'kubernetes.default.svc', '--ip', '10.96.0.1'],
  kubelet: ['--cn', 'system:node:worker-1'],
  'kubelet-serving': ['--cn', 'worker-1.cluster.example'],
  'kube-admin': ['--cn', 'admin'],
  'etcd-server': ['--cn', 'etcd-0.cluster.example', '--dns', 'etcd-0.cluster.example'],
  'etcd-peer': ['--cn', 'etcd-0.cluster.example', '--dns', 'etcd-0.cluster.example'],
  'etcd-client': ['--cn', 'kube-apiserver-etcd-client'],
  'spiffe-workload': ['--cn', 'api', '--uri', 'spiffe://prod.example/ns/web/sa/api', '--email', 'Ops@Prod.Example'],
};

describe("README's profiles, subject attributes and URI/email SANs (built CLI)", () => {
  const t = tempDir('certctl-e2e-profiles-');
  const dir = t.dir;
  const profiles = Object.keys((parse(readmeProfilesYaml()) as { profiles: Record<string, unknown> }).profiles);

  beforeAll(() => {
    requireBuiltCli();
    requireTool('openssl', ['version']);
    requireTool('python3', ['--version']);
    if (!existsSync(ZLINT_CHECK)) throw new Error(`${ZLINT_CHECK} is missing`);
    const zl = run(INSTALL_ZLINT, [], { cwd: REPO, timeout: 600000 });
    if (zl.status !== 0) throw new Error(`tools/install-zlint.sh failed (zlint is required):\n${zl.stderr}`);
    writeFileSync(join(dir, 'certctl.yaml'), readmeProfilesYaml());
    ok(dir, ['init', '--cn', 'certctl e2e profiles root']);
  });

  afterAll(() => t.cleanup());

  test('every README profile has an example here (and the block defines the Kubernetes and etcd sets)', () => {
    expect(profiles.sort()).toEqual(Object.keys(ISSUE_ARGS).sort());
    expect(profiles).toEqual(expect.arrayContaining(['kube-apiserver', 'kubelet', 'kube-admin', 'etcd-server', 'etcd-peer', 'etcd-client']));
  });

  test.each(Object.entries(ISSUE_ARGS))('issue %s: one certificate, zlint finds no error or warning', (profile, args) => {
    ok(dir, ['issue', profile, ...args, '--out', `out-${profile}`]);
    const r = run(ZLINT_CHECK, [`out-${profile}/cert.pem`], { cwd: dir, timeout: 600000 });
    expect({ status: r.status, findings: r.stdout.split('\n').filter((l) => /: (warn|error|fatal) /.test(l)) }).toEqual({ status: 0, findings: [] });
  });

  test('renew keeps the subject attributes and URI/email SANs of the certificate it renews', () => {
    const records = ok(dir, ['list', '--json']).json!.result as { serial: string; profile: string }[];
    for (const profile of ['client', 'kube-admin', 'spiffe-workload']) {
      const old = records.find((r) => r.profile === profile)!;
      const renewed = ok(dir, ['renew', old.serial, '--out', `renewed-${profile}`, '--json']).json!.result.certificate;
      const before = ok(dir, ['show', old.serial, '--json']).json!.result;
      expect({ subject: renewed.subject, uris: renewed.uris, emails: renewed.emails }).toEqual({
        subject: before.subject,
        uris: before.uris,
        emails: before.emails,
      });
    }
  });

  test('kube-admin always carries O=system:masters, kubelet O=system:nodes; kubelet-serving has its CN as a SAN', () => {
    expect(openssl(dir, ['x509', '-in', 'out-kube-admin/cert.pem', '-noout', '-subject'])).toBe('subject=O = system:masters, CN = admin\n');
    const kubelet = openssl(dir, ['x509', '-in', 'out-kubelet/cert.pem', '-noout', '-subject', '-ext', 'extendedKeyUsage']);
    expect(kubelet).toContain('subject=O = system:nodes, CN = system:node:worker-1');
    expect(kubelet).toContain('TLS Web Client Authentication');
    expect(openssl(dir, ['x509', '-in', 'out-kubelet-serving/cert.pem', '-noout', '-ext', 'subjectAltName'])).toContain('DNS:worker-1.cluster.example');
  });

  test('URI and email SANs: openssl prints them, Python cryptography reads them and validates the chain', () => {
    const text = openssl(dir, ['x509', '-in', 'out-spiffe-workload/cert.pem', '-noout', '-ext', 'subjectAltName']);
    expect(text).toContain('email:Ops@prod.example, URI:spiffe://prod.example/ns/web/sa/api');
    const py = run('python3', [
      '-c',
      [
        'import sys; from cryptography import x509',
        'c = x509.load_pem_x509_certificate(open(sys.argv[1], "rb").read())',
        'san = c.extensions.get_extension_for_class(x509.SubjectAlternativeName).value',
        'print(san.get_values_for_type(x509.UniformResourceIdentifier), san.get_values_for_type(x509.RFC822Name))',
      ].join('\n'),
      join(dir, 'out-spiffe-workload/cert.pem'),
    ]);
    expect(py.stdout.trim()).toBe("['spiffe://prod.example/ns/web/sa/api'] ['Ops@prod.example']");
    const verdict = run('python3', [VERIFY_CHAIN, '--ca', 'out-spiffe-workload/ca.pem', '--leaf', 'out-spiffe-workload/cert.pem', '--client'], { cwd: dir });
    expect({ status: verdict.status, ok: (JSON.parse(verdict.stdout) as { ok: boolean }).ok }).toEqual({ status: 0, ok: true });
    const rec = ok(dir, ['list', '--json']).json!.result.find((r: { profile: string }) => r.profile === 'spiffe-workload');
    expect(rec).toMatchObject({ uris: ['spiffe://prod.example/ns/web/sa/api'], emails: ['Ops@prod.example'] });
    expect(ok(dir, ['show', rec.serial]).stdout).toContain('uris:        spiffe://prod.example/ns/web/sa/api');
  });

  describe('the python-magnumclient CSR (CN=admin, O=system:masters, RSA 2048)', () => {
    beforeAll(() => {
      openssl(dir, ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'magnum.key', '-subj', '/CN=admin/O=system:masters', '-out', 'magnum.csr']);
    });

    test('signed with O kept where the profile allows it (client: allowed_organizations)', () => {
      const r = ok(dir, ['sign', '--csr', 'magnum.csr', '--profile', 'client']);
      expect(r.stderr).not.toContain('not taken from the CSR');
      writeFileSync(join(dir, 'magnum.crt'), r.stdout);
      expect(openssl(dir, ['x509', '-in', 'magnum.crt', '-noout', '-subject'])).toBe('subject=O = system:masters, CN = admin\n');
    });

    test('O dropped with a warning where the profile says nothing (etcd-client)', () => {
      const r = ok(dir, ['sign', '--csr', 'magnum.csr', '--profile', 'etcd-client']);
      expect(r.stderr).toContain('not taken from the CSR: subject O');
      expect(new X509Certificate(r.stdout).subject).toBe('CN=admin');
    });

    test('refused with exit 5 naming the attribute where the profile allows other values', () => {
      const other = tempDir('certctl-e2e-profiles-nodes-');
      try {
        writeFileSync(join(other.dir, 'certctl.yaml'), 'profiles:\n  client:\n    allowed_organizations: ["system:nodes"]\n');
        ok(other.dir, ['init', '--cn', 'nodes only']);
        const r = certctl(other.dir, ['sign', '--csr', join(dir, 'magnum.csr')]);
        expect(r.status).toBe(5);
        expect(r.stderr).toContain('subject O (organization) "system:masters" is not allowed by profiles.client.allowed_organizations');
      } finally {
        other.cleanup();
      }
    });
  });

  test('the subject is byte for byte what `openssl req -subj` writes (order C, ST, L, O, OU, CN, serialNumber; encodings)', () => {
    const other = tempDir('certctl-e2e-profiles-subject-');
    try {
      const all = ['countries', 'states', 'localities', 'organizations', 'organizational_units', 'serial_numbers'].map((k) => `    allowed_${k}: ["*"]`);
      writeFileSync(join(other.dir, 'certctl.yaml'), `profiles:\n  client:\n${all.join('\n')}\n`);
      ok(other.dir, ['init', '--cn', 'subject root']);
      const subj = '/C=DE/ST=Baden-Württemberg/L=Stuttgart/O=system:masters/O=Ops & Co/OU=platform_team/CN=admin user/serialNumber=A-42';
      // -utf8: the -subj text is UTF-8 (without it openssl reads it as Latin-1 and encodes "ü" twice).
      const req = 'req -new -utf8 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout k.pem -out r.csr -subj'.split(' ');
      openssl(other.dir, [...req, subj]);
      const fromCsr = ok(other.dir, ['sign', '--csr', 'r.csr']).stdout;
      const expected = csrSubjectDer(readFileSync(join(other.dir, 'r.csr'), 'utf8'));
      expect(certificateParts(pemBlocks(fromCsr, 'CERTIFICATE')[0]).subjectDer.toString('hex')).toBe(expected.toString('hex'));
      // The same subject from flags, given in another order.
      ok(other.dir, [
        'issue',
        'client',
        '--cn',
        'admin user',
        '--subject-serial',
        'A-42',
        '--ou',
        'platform_team',
        '--org',
        'system:masters',
        '--org',
        'Ops & Co',
        '--locality',
        'Stuttgart',
        '--state',
        'Baden-Württemberg',
        '--country',
        'DE',
        '--out',
        'flags',
      ]);
      const fromFlags = readFileSync(join(other.dir, 'flags', 'cert.pem'), 'utf8');
      expect(certificateParts(pemBlocks(fromFlags, 'CERTIFICATE')[0]).subjectDer.toString('hex')).toBe(expected.toString('hex'));
    } finally {
      other.cleanup();
    }
  });

  test('names as people type them: CN and SAN alike, an IPv4-mapped address as IPv4', () => {
    ok(dir, ['issue', 'etcd-server', '--cn', 'A.Cluster.Example.', '--dns', 'a.cluster.example.', '--ip', '::ffff:10.0.0.1', '--out', 'typed']);
    const text = openssl(dir, ['x509', '-in', 'typed/cert.pem', '-noout', '-subject', '-ext', 'subjectAltName']);
    expect(text).toContain('subject=CN = a.cluster.example');
    expect(text).toContain('DNS:a.cluster.example, IP Address:10.0.0.1');
    const r = run(ZLINT_CHECK, ['typed/cert.pem'], { cwd: dir, timeout: 600000 });
    expect(r.status).toBe(0);
  });

  test.each([
    [['issue', 'client', '--cn', 'a', '--org', 'evil'], 5, 'subject O (organization) "evil" is not allowed by profiles.client.allowed_organizations'],
    [['issue', 'etcd-client', '--cn', 'a', '--org', 'system:masters'], 5, 'profiles.etcd-client.allowed_organizations'],
    [['issue', 'client', '--cn', 'a', '--ou', 'x'], 5, 'profiles.client.allowed_organizational_units'],
    [['issue', 'client', '--cn', 'a', '--country', 'us'], 2, 'subject C (country) "us" must be a two-letter ISO 3166 code'],
    [['issue', 'client', '--cn', 'a', '--org', 'x'.repeat(65)], 2, 'subject O (organization) must be 1 to 64 characters'],
    [['issue', 'client', '--cn', 'x'.repeat(65)], 2, 'at most 64'],
    [['issue', 'client', '--cn', 'a', '--uri', 'spiffe://prod.example/x'], 5, 'profiles.client.allowed_uris'],
    [
      ['issue', 'spiffe-workload', '--cn', 'a', '--uri', 'spiffe://other.example/x'],
      5,
      'URI "spiffe://other.example/x" is not allowed by profiles.spiffe-workload.allowed_uris',
    ],
    [['issue', 'spiffe-workload', '--cn', 'a', '--uri', 'not a uri'], 2, 'URI "not a uri" is not an absolute URI'],
    [['issue', 'spiffe-workload', '--cn', 'a', '--email', 'a@b@c'], 2, 'email address "a@b@c"'],
    [['issue', 'spiffe-workload', '--cn', 'a', '--email', 'a@other.example'], 5, 'profiles.spiffe-workload.allowed_emails'],
    [['issue', 'no-such-profile', '--cn', 'a'], 2, 'unknown profile "no-such-profile"'],
    [['sign', '--csr', 'magnum.csr', '--profile', 'intermediate'], 2, 'unknown profile "intermediate"'],
  ])('certctl %j exits %i naming the field', (args, code, message) => {
    const r = certctl(dir, args);
    expect({ status: r.status, named: r.stderr.includes(message) }).toEqual({ status: code, named: true });
  });

  test.each([
    ['profiles:\n  x:\n    base: server\n    extended_key_usage: [serverAuth, bogus]\n', 'profiles.x.extended_key_usage.1: expected one of serverAuth'],
    ['profiles:\n  x:\n    key_usage: [digitalSignature]\n', 'profiles.x: a custom profile needs base:'],
    ['profiles:\n  x:\n    base: intermediate\n', 'profiles.x.base: expected one of server, client, peer, node'],
    ['profiles:\n  server:\n    base: client\n', 'profiles.server.base: a built-in profile keeps its own'],
    ['profiles:\n  x:\n    base: client\n    country: [usa]\n', 'profiles.x.country[0]: subject C (country) "usa"'],
    ['profiles:\n  x:\n    base: client\n    allowed_organizations: []\n', 'profiles.x.allowed_organizations: expected at least one pattern'],
    ['profiles:\n  x:\n    base: client\n    organisation: [a]\n', 'profiles.x: unknown key "organisation"'],
    ['profiles:\n  Bad_Name:\n    base: client\n', 'profiles.Bad_Name: expected a profile name of lower-case letters, digits and hyphens'],
  ])('certctl.yaml %j is refused at load with exit 3 naming the path', (yaml, message) => {
    const other = tempDir('certctl-e2e-profiles-config-');
    try {
      writeFileSync(join(other.dir, 'certctl.yaml'), yaml);
      const r = certctl(other.dir, ['list']);
      expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 3, stderr: expect.stringContaining(message) as string });
    } finally {
      other.cleanup();
    }
  });
});
