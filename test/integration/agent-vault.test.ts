/**
 * `certctl agent` through `certctl serve` over the Vault backend (Vault PKI signs, KV stores), the
 * real Vault-API server: the agent's renewal is a rekey with a CSR — the only renewal a CSR-only
 * signer can do — and keeps the key type (RSA here); Vault's own record of the certificate is read
 * with curl.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSerial } from '../../src/core/serial';
import { certctl, ok, requireBuiltCli, run, tempDir } from '../support/cli';
import { startServe, type ServeProcess } from '../support/serve';
import { describeWithVault, vaultCurl, vaultEnv, writeVaultConfig } from '../support/servers';

jest.setTimeout(180000);

describeWithVault('certctl agent over certctl serve with the Vault backend (real Vault-API server)', (vault) => {
  const t = tempDir('certctl-agent-vault-');
  const dir = t.dir;
  const { pkiMount } = writeVaultConfig(dir);
  const env = vaultEnv(vault);
  let server: ServeProcess | undefined;

  beforeAll(async () => {
    requireBuiltCli();
    ok(dir, ['init', '--cn', 'Agent Vault Root'], env);
    server = await startServe(dir, env);
  });
  afterAll(async () => {
    await server?.stop();
    vaultCurl(vault, 'DELETE', `sys/mounts/${pkiMount}`);
    t.cleanup();
  });

  it('renews a Docker host certificate with a new RSA key that Vault signed from the CSR', () => {
    const out = join(dir, 'docker');
    ok(dir, ['issue', 'server', '--cn', 'docker2.example', '--dns', 'docker2.example', '--key-type', 'rsa-2048', '--format', 'docker', '--out', out], env);
    const cert = join(out, 'server-cert.pem');
    const key = join(out, 'server-key.pem');
    const before = new X509Certificate(readFileSync(cert));
    const oldKey = readFileSync(key, 'utf8');

    const r = certctl(dir, ['agent', '--server', (server as ServeProcess).url, '--cert', cert, '--key', key, '--renew-before', '100%', '--once', '--json']);
    expect(r.stderr).toMatch(/"event":"renewed"/);
    expect(r.status).toBe(0);
    const after = new X509Certificate(readFileSync(cert));
    const serial = parseSerial(after.serialNumber);
    expect(r.json?.result).toMatchObject({ renewed: true, serial, previous: parseSerial(before.serialNumber) });
    expect(after.subjectAltName).toBe(before.subjectAltName);
    expect(readFileSync(key, 'utf8')).not.toBe(oldKey);
    expect(after.publicKey.asymmetricKeyType).toBe('rsa');
    expect(after.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    const pub = (args: string[]) => run('openssl', args).stdout;
    expect(pub(['pkey', '-pubout', '-in', key])).toBe(pub(['x509', '-noout', '-pubkey', '-in', cert]));
    expect(run('openssl', ['verify', '-CAfile', join(out, 'ca.pem'), cert]).stdout).toMatch(/OK/);
    // Vault's PKI engine issued it (its own record, under the colon-separated serial).
    const colonSerial = serial.toLowerCase().match(/../g)?.join(':');
    const record = vaultCurl(vault, 'GET', `${pkiMount}/cert/${colonSerial}`);
    expect(record.status).toBe(200);
    expect(new X509Certificate(record.json.data.certificate as string).raw.equals(after.raw)).toBe(true);
  });
});
