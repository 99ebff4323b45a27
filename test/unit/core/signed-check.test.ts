import 'reflect-metadata';
import { KeyObject, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registry } from '../../../src/backends';
import { CertStore } from '../../../src/core/cert-store';
import { loadConfig } from '../../../src/core/config/load';
import { createContainer } from '../../../src/core/container';
import { InternalError } from '../../../src/core/errors';
import { IssuanceService } from '../../../src/core/issuance-service';
import { generateEncodedKeySync } from '../../../src/core/key-encoding';
import { Signer, type LeafSpec, type RemoteSigner } from '../../../src/core/signer';

/**
 * A remote signer that signs what it was not asked for: it hands the real local signer a changed
 * request (or signs with another CA). A fault-injecting wrapper, named as such: no real CA does
 * this on demand, and the core must catch it before anything is stored.
 */
class FaultInjectingRemoteSigner implements RemoteSigner {
  readonly kind = 'fault-injecting-remote';
  readonly inFlight = 2;
  constructor(
    private readonly inner: Signer,
    private readonly tamper: (spec: LeafSpec) => LeafSpec,
    private readonly signAs?: string,
  ) {}
  createCa(...args: Parameters<Signer['createCa']>) {
    return this.inner.createCa(...args);
  }
  crl(...args: Parameters<Signer['crl']>) {
    return this.inner.crl(...args);
  }
  sign(ca: string, specs: LeafSpec[]): Promise<Buffer[]> {
    // What crosses the boundary: a CSR the core built, never a private key.
    expect(specs.every((s) => s.csrDer && Object.values(s).every((v) => !(v instanceof KeyObject)))).toBe(true);
    return this.inner.sign(this.signAs ?? ca, specs.map(this.tamper));
  }
}

describe('the core checks what a remote signer returns', () => {
  let dir: string;
  let container: ReturnType<typeof createContainer>;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'certctl-signed-check-'));
    const config = loadConfig({}, { XDG_CONFIG_HOME: join(dir, 'xdg'), CERTCTL_FILE_DIR: dir }, dir);
    container = createContainer(config, { get: () => undefined }, registry);
    await container.get(IssuanceService).init({ commonName: 'Check CA' });
    const other = createContainer(
      loadConfig({ ca: 'other' }, { XDG_CONFIG_HOME: join(dir, 'xdg'), CERTCTL_FILE_DIR: dir }, dir),
      { get: () => undefined },
      registry,
    );
    await other.get(IssuanceService).init({ commonName: 'Other CA' });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const issueThrough = (tamper: (s: LeafSpec) => LeafSpec, signAs?: string) => {
    const signer = new FaultInjectingRemoteSigner(container.get<Signer>(Signer), tamper, signAs);
    const service = new IssuanceService(signer, container.get(CertStore), container.get(Symbol.for('certctl.ResolvedConfig')));
    return service.issue({ profile: 'server', commonName: 'svc.example', dnsNames: ['svc.example'], ipAddresses: ['10.1.2.3'] });
  };

  it('stores what matches the request, with the serial and validity the certificate states', async () => {
    const result = await issueThrough((s) => s);
    expect(result.items).toHaveLength(1);
    for (const item of result.items) {
      const cert = new X509Certificate(item.certPem);
      expect(item.record.serial).toBe(cert.serialNumber.toUpperCase().replace(/^0+/, '').padStart(item.record.serial.length, '0'));
      expect(item.record.notAfter).toBe(new Date(cert.validTo).toISOString());
    }
    expect(await container.get<CertStore>(CertStore).list('default')).toHaveLength(1);
  });

  it.each<[string, (s: LeafSpec) => LeafSpec, RegExp]>([
    ['another public key', (s) => ({ ...s, spkiDer: generateEncodedKeySync('ec-p256').spkiDer }), /public key of another key pair, not the requested key/],
    ['an extra DNS name', (s) => ({ ...s, dnsNames: [...s.dnsNames, 'evil.example'] }), /DNS names \[evil\.example, svc\.example\], not \[svc\.example\]/],
    ['another IP address', (s) => ({ ...s, ipAddresses: ['10.9.9.9'] }), /IP addresses \[10\.9\.9\.9\], not \[10\.1\.2\.3\]/],
    ['another subject CN', (s) => ({ ...s, commonName: 'other.example' }), /subject CN "other\.example", not "svc\.example"/],
    ['a CA certificate', (s) => ({ ...s, basicConstraints: { ca: true } }), /basic constraints CA:true, not critical CA:false/],
    [
      'clientAuth instead of serverAuth',
      (s) => ({ ...s, extKeyUsage: ['clientAuth'] }),
      /extended key usage \[1\.3\.6\.1\.5\.5\.7\.3\.2\], not \[1\.3\.6\.1\.5\.5\.7\.3\.1\]/,
    ],
    [
      'keyEncipherment added',
      (s) => ({ ...s, keyUsage: [...s.keyUsage, 'keyEncipherment'] }),
      /key usage digitalSignature, keyEncipherment, not digitalSignature/,
    ],
    ['a longer lifetime', (s) => ({ ...s, notAfter: new Date(s.notAfter.getTime() + 86400_000) }), /notAfter .*, not .* as asked/],
    ['an O the request did not ask for', (s) => ({ ...s, subject: { O: ['system:masters'] } }), /subject O \[system:masters\], not \[\]/],
    ['an extra URI SAN', (s) => ({ ...s, uris: ['spiffe://evil.example/x'] }), /URIs \[spiffe:\/\/evil\.example\/x\], not \[\]/],
    ['an extra email SAN', (s) => ({ ...s, emails: ['a@evil.example'] }), /email addresses \[a@evil\.example\], not \[\]/],
    ['id-pkix-ocsp-nocheck the profile does not carry', (s) => ({ ...s, ocspNoCheck: true }), /id-pkix-ocsp-nocheck present, not absent/],
  ])('refuses %s with exit 1 naming the field, and stores nothing', async (_label, tamper, message) => {
    const err = await issueThrough(tamper).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InternalError);
    expect((err as InternalError).exitCode).toBe(1);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).toMatch(/nothing was stored — revoke serial [0-9A-F]+ at that CA/);
    expect(await container.get<CertStore>(CertStore).list('default')).toEqual([]);
  });

  it('refuses an OCSP responder certificate without the id-pkix-ocsp-nocheck its profile asks for', async () => {
    const signer = new FaultInjectingRemoteSigner(container.get<Signer>(Signer), (s) => ({ ...s, ocspNoCheck: undefined }));
    const service = new IssuanceService(signer, container.get(CertStore), container.get(Symbol.for('certctl.ResolvedConfig')));
    const err = await service.issue({ profile: 'ocsp', commonName: 'OCSP responder' }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/id-pkix-ocsp-nocheck absent, not present/);
    const ok = await issueThrough((s) => s);
    expect(ok.items).toHaveLength(1);
  });

  it('refuses a certificate signed by another CA', async () => {
    const err = await issueThrough((s) => s, 'other').catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/with issuer "CN=Other CA", not the CA "CN=Check CA"/);
    expect(await container.get<CertStore>(CertStore).list('default')).toEqual([]);
  });
});
