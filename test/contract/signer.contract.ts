import { X509Certificate, createPublicKey } from 'node:crypto';
import type { CertStore } from '../../src/core/cert-store';
import { ConflictError, NotFoundError } from '../../src/core/errors';
import { generateEncodedKeySync } from '../../src/core/key-encoding';
import { newSerial, serialToHex } from '../../src/core/serial';
import { canRevoke, isRemoteSigner, signerCapabilities, type LeafSpec, type Signer, type SignerCapability } from '../../src/core/signer';
import { createDerSigner } from '../../src/core/x509/signing';
import { buildCsrDer } from '../../src/core/x509/csr-builder';

/** A signer under test over a fresh store. */
export interface SignerFixture {
  signer: Signer;
  store: CertStore;
  /** The capabilities its backend descriptor declares: the signer must have exactly these. */
  declared?: readonly SignerCapability[];
  cleanup(): Promise<void>;
}

function spec(overrides: Partial<LeafSpec> = {}): LeafSpec {
  const key = generateEncodedKeySync('ec-p256');
  const now = Math.floor(Date.now() / 1000);
  return {
    serial: newSerial(),
    commonName: 'svc.example.com',
    dnsNames: ['svc.example.com'],
    ipAddresses: ['10.0.0.7'],
    notBefore: new Date((now - 60) * 1000),
    notAfter: new Date((now + 86400) * 1000),
    keyType: 'ec-p256',
    spkiDer: key.spkiDer,
    keyUsage: ['digitalSignature'],
    extKeyUsage: ['serverAuth'],
    basicConstraints: { ca: false },
    // What the core passes a RemoteSigner; a local signer ignores it.
    csrDer: buildCsrDer({ commonName: 'svc.example.com', dnsNames: [], ipAddresses: [], spkiDer: key.spkiDer }, createDerSigner(key.privateKey())),
    ...overrides,
  };
}

/** The Signer contract: every backend's signer must pass this suite unchanged. */
export function describeSignerContract(name: string, make: () => Promise<SignerFixture>): void {
  describe(`Signer contract: ${name}`, () => {
    let fx: SignerFixture;
    beforeEach(async () => {
      fx = await make();
    });
    afterEach(async () => fx.cleanup());

    const createRoot = async (ca = 'root') => {
      const now = Math.floor(Date.now() / 1000);
      const created = await fx.signer.createCa({
        name: ca,
        commonName: `${ca} CA`,
        keyType: 'ec-p256',
        notBefore: new Date((now - 60) * 1000),
        notAfter: new Date((now + 3650 * 86400) * 1000),
      });
      await fx.store.createCa(created.record, created.keyPem);
      return created.record;
    };

    it('has exactly the capabilities its backend declares', () => {
      if (fx.declared) expect([...signerCapabilities(fx.signer)].sort()).toEqual([...fx.declared].sort());
      else expect(signerCapabilities(fx.signer)).toEqual([]);
    });

    it('creates a self-signed root CA with CA:true', async () => {
      const root = await createRoot();
      const cert = new X509Certificate(root.certPem);
      expect(cert.ca).toBe(true);
      expect(cert.verify(cert.publicKey)).toBe(true);
      expect(cert.subject).toContain('CN=root CA');
    });

    it('refuses to create a CA that exists', async () => {
      await createRoot();
      const now = new Date();
      await expect(
        fx.signer.createCa({ name: 'root', commonName: 'x', keyType: 'ec-p256', notBefore: now, notAfter: new Date(now.getTime() + 1e9) }),
      ).rejects.toBeInstanceOf(ConflictError);
    });

    it('signs leaves exactly as specified, in order', async () => {
      const root = await createRoot();
      const specs = [spec(), spec({ commonName: 'alice', dnsNames: [], ipAddresses: [], extKeyUsage: ['clientAuth'] })];
      const ders = await fx.signer.sign('root', specs);
      expect(ders).toHaveLength(2);
      const ca = new X509Certificate(root.certPem);
      ders.forEach((der, i) => {
        const cert = new X509Certificate(der);
        expect(cert.verify(ca.publicKey)).toBe(true);
        expect(cert.checkIssued(ca)).toBe(true);
        if (isRemoteSigner(fx.signer)) {
          // A remote CA picks its own serials: at least 64 random bits (CA/B BR 7.1), distinct.
          expect(cert.serialNumber.replace(/^0+/, '').length).toBeGreaterThanOrEqual(16);
          expect(cert.serialNumber).not.toBe(new X509Certificate(ders[1 - i]).serialNumber);
        } else {
          expect(cert.serialNumber.toUpperCase().replace(/^0+/, '')).toBe(serialToHex(specs[i].serial).replace(/^0+/, ''));
        }
        expect(cert.ca).toBe(false);
        expect(
          cert.publicKey
            .export({ type: 'spki', format: 'der' })
            .equals(createPublicKey({ key: specs[i].spkiDer, format: 'der', type: 'spki' }).export({ type: 'spki', format: 'der' })),
        ).toBe(true);
      });
      const server = new X509Certificate(ders[0]);
      expect(server.subjectAltName).toBe('DNS:svc.example.com, IP Address:10.0.0.7');
      expect(server.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']); // node's keyUsage is the EKU list
      expect(new X509Certificate(ders[1]).keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
      expect(new X509Certificate(ders[1]).subject).toBe('CN=alice');
    });

    it('fails with NotFoundError for an unknown CA', async () => {
      await expect(fx.signer.sign('nope', [spec()])).rejects.toBeInstanceOf(NotFoundError);
    });

    it('creates an intermediate signed by its parent, pathLen 0', async () => {
      const root = await createRoot();
      const now = Math.floor(Date.now() / 1000);
      const created = await fx.signer.createCa({
        name: 'issuing',
        commonName: 'Issuing',
        keyType: 'ec-p384',
        notBefore: new Date((now - 60) * 1000),
        notAfter: new Date((now + 365 * 86400) * 1000),
        parent: 'root',
      });
      await fx.store.createCa(created.record, created.keyPem);
      const inter = new X509Certificate(created.record.certPem);
      expect(inter.checkIssued(new X509Certificate(root.certPem))).toBe(true);
      expect(inter.verify(new X509Certificate(root.certPem).publicKey)).toBe(true);
      expect(created.record.chainPem).toEqual([root.certPem]);
      const [leaf] = await fx.signer.sign('issuing', [spec()]);
      expect(new X509Certificate(leaf).verify(inter.publicKey)).toBe(true);
    });

    it('produces a CRL naming every revoked serial', async () => {
      await createRoot();
      const [der] = await fx.signer.sign('root', [spec()]);
      const serial = new X509Certificate(der).serialNumber.toUpperCase();
      // A remote CA keeps its own CRL, so it hears of the revocation first.
      if (canRevoke(fx.signer)) await fx.signer.revoke('root', serial);
      const pem = await fx.signer.crl('root', [
        {
          serial,
          profile: 'server',
          commonName: '',
          dnsNames: [],
          ipAddresses: [],
          keyType: 'ec-p256',
          notBefore: '',
          notAfter: '',
          issuedAt: '',
          hasKey: false,
          sha256: '',
          status: 'revoked',
          revokedAt: new Date().toISOString(),
          revocationReason: 'keyCompromise',
        },
      ]);
      expect(pem).toMatch(/^-----BEGIN X509 CRL-----/);
      const x509 = require('@peculiar/x509') as typeof import('@peculiar/x509');
      const crl = new x509.X509Crl(pem);
      expect(crl.entries.map((e) => e.serialNumber.toUpperCase().replace(/^0+/, ''))).toEqual([serial.replace(/^0+/, '')]);
    });
  });
}
