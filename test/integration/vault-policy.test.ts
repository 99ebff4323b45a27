/**
 * The Vault signer under issue #11's policy, against a real Vault-API server: subject attributes
 * (Vault takes O/OU/C/ST/L only from a role, so certctl writes one per shape on demand), custom
 * profiles' key usages and EKUs, URI and email SANs, the Magnum CSR keeping O=system:masters;
 * openssl reads every certificate back and verifies it against the CA.
 */
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { certctl, ok, run, tempDir } from '../support/cli';
import { describeWithVault, vaultCurl, vaultEnv, writeVaultConfig } from '../support/servers';

jest.setTimeout(180000);

const PROFILES = `profiles:
  client:
    allowed_organizations: ["system:masters", "system:nodes"]
  kube-admin:
    base: client
    organization: ["system:masters"]
  signing:
    extended_key_usage: [codeSigning, timeStamping, 1.3.6.1.5.5.7.3.17]
    key_usage: [digitalSignature, contentCommitment]
  workload:
    base: peer
    allowed_uris: ["spiffe://prod.example/*"]
    allowed_emails: ["*@prod.example"]
    allowed_countries: ["DE"]
    allowed_organizational_units: ["*"]
    allowed_serial_numbers: ["*"]
`;

function openssl(cwd: string, args: string[]): string {
  const r = run('openssl', args, { cwd });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} exited ${r.status}\n${r.stderr}`);
  return r.stdout;
}

describeWithVault('Vault signer: subject attributes, custom profiles, URI/email SANs (real Vault-API server)', (vault) => {
  const t = tempDir('certctl-vault-policy-');
  const dir = t.dir;
  const { pkiMount } = writeVaultConfig(dir, PROFILES);
  const env = vaultEnv(vault);

  beforeAll(() => {
    ok(dir, ['init', '--cn', 'Vault policy root'], env);
    writeFileSync(join(dir, 'ca.pem'), ok(dir, ['ca', 'show'], env).stdout);
  });

  afterAll(() => {
    vaultCurl(vault, 'DELETE', `sys/mounts/${pkiMount}`);
    t.cleanup();
  });

  /** The certificate's subject and extensions as openssl prints them, after openssl verified it against the CA. */
  function inspect(certPem: string, name: string): string {
    writeFileSync(join(dir, `${name}.pem`), certPem);
    expect(openssl(dir, ['verify', '-CAfile', 'ca.pem', `${name}.pem`]).trim()).toBe(`${name}.pem: OK`);
    return openssl(dir, ['x509', '-in', `${name}.pem`, '-noout', '-subject', '-ext', 'subjectAltName,keyUsage,extendedKeyUsage']);
  }

  it('kube-admin: O=system:masters through a role written on demand (named after its shape)', () => {
    const r = ok(dir, ['issue', 'kube-admin', '--cn', 'admin', '--out', 'admin'], env);
    expect(r.status).toBe(0);
    const text = inspect(run('cat', [join(dir, 'admin', 'cert.pem')]).stdout, 'admin');
    expect(text).toContain('subject=O = system:masters, CN = admin');
    const roles = vaultCurl(vault, 'LIST', `${pkiMount}/roles`).json.data.keys as string[];
    const onDemand = roles.filter((k) => /^certctl-default-r[0-9a-f]{16}$/.test(k));
    expect(onDemand.length).toBe(1);
    expect(vaultCurl(vault, 'GET', `${pkiMount}/roles/${onDemand[0]}`).json.data.organization).toEqual(['system:masters']);
  });

  it('the python-magnumclient CSR keeps O=system:masters where the client profile allows it', () => {
    openssl(dir, ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'magnum.key', '-subj', '/CN=admin/O=system:masters', '-out', 'magnum.csr']);
    const r = ok(dir, ['sign', '--csr', 'magnum.csr'], env);
    expect(r.stderr).not.toContain('not taken from the CSR');
    expect(inspect(r.stdout, 'magnum')).toContain('subject=O = system:masters, CN = admin');
    const peer = ok(dir, ['sign', '--csr', 'magnum.csr', '--profile', 'peer'], env);
    expect(peer.stderr).toContain('not taken from the CSR: subject O');
    expect(new X509Certificate(peer.stdout).subject).toBe('CN=admin');
  });

  it('a custom profile: codeSigning, timeStamping and an OID EKU, contentCommitment key usage', () => {
    const json = ok(dir, ['issue', 'signing', '--cn', 'release signer', '--json'], env).json!;
    const serial = json.result.certificates[0].serial as string;
    const pem = ok(dir, ['show', serial, '--json'], env).json!.result.certificate as string;
    const text = inspect(pem, 'signing');
    expect(text).toContain('Digital Signature, Non Repudiation');
    expect(text).toContain('Code Signing, Time Stamping, ipsec Internet Key Exchange'); // openssl's name for 1.3.6.1.5.5.7.3.17
  });

  it('URI, email, C, OU and serialNumber: what the request and the role can express, checked by the core', () => {
    const json = ok(
      dir,
      [
        'issue',
        'workload',
        '--cn',
        'api.prod.example',
        '--uri',
        'spiffe://prod.example/ns/web/sa/api',
        '--email',
        'ops@prod.example',
        '--country',
        'DE',
        '--ou',
        'web',
        '--subject-serial',
        'A-42',
        '--json',
      ],
      env,
    ).json!;
    const record = json.result.certificates[0];
    expect(record).toMatchObject({ uris: ['spiffe://prod.example/ns/web/sa/api'], emails: ['ops@prod.example'], dnsNames: ['api.prod.example'] });
    const pem = ok(dir, ['show', record.serial, '--json'], env).json!.result.certificate as string;
    const text = inspect(pem, 'workload');
    expect(text).toContain('C = DE, OU = web, CN = api.prod.example, serialNumber = A-42');
    expect(text).toMatch(/URI:spiffe:\/\/prod\.example\/ns\/web\/sa\/api/);
    expect(text).toContain('email:ops@prod.example');
  });

  it('what Vault cannot write as asked (a value its roles would trim) is refused with exit 9 naming it', () => {
    const r = certctl(dir, ['issue', 'workload', '--cn', 'x', '--ou', ' padded'], env);
    expect(r.status).toBe(9);
    expect(r.stderr).toContain('subject OU " padded" starts or ends with white space');
  });

  it('policy still refuses before any Vault call', () => {
    const r = certctl(dir, ['issue', 'workload', '--cn', 'x', '--country', 'US'], env);
    expect(r.status).toBe(5);
    expect(r.stderr).toContain('profiles.workload.allowed_countries');
  });
});
