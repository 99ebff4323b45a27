import { X509Certificate } from 'node:crypto';
import { generateEncodedKeySync } from '../../../src/core/key-encoding';
import { parseSerial } from '../../../src/core/serial';
import { buildCertificateDer } from '../../../src/core/x509/certificate-builder';
import { encodeName } from '../../../src/core/x509/fields';
import { createDerSigner, keyIdentifier } from '../../../src/core/x509/signing';
import { certificateFacts } from '../../../src/core/x509/der-reader';

describe('certificateFacts', () => {
  it.each([
    ['a 128-bit serial, UTCTime', Buffer.from('7f'.padEnd(32, 'a'), 'hex'), new Date('2026-01-02T03:04:05Z'), new Date('2049-12-31T23:59:59Z')],
    ['a serial with the high bit set (DER adds 00), GeneralizedTime after 2049', Buffer.from('ff0102', 'hex'), new Date('1999-06-01T00:00:00Z'), new Date('2060-01-01T00:00:00Z')],
  ])('agrees with X509Certificate: %s', (_name, serial, notBefore, notAfter) => {
    const key = generateEncodedKeySync('ec-p256');
    const der = buildCertificateDer(
      { serial, issuerDer: encodeName([{ type: 'CN', value: 'CA' }]), subjectDer: encodeName([{ type: 'CN', value: 'x' }]), notBefore, notAfter, spkiDer: key.spkiDer, basicConstraints: { ca: false }, keyUsage: ['digitalSignature'], extKeyUsage: ['serverAuth'], subjectKeyId: keyIdentifier(key.spkiDer), authorityKeyId: keyIdentifier(key.spkiDer), dnsNames: ['x'], ipAddresses: [] },
      createDerSigner(key.privateKey()),
    );
    const x = new X509Certificate(der);
    expect(certificateFacts(der)).toEqual({ serial: parseSerial(x.serialNumber), notBefore: new Date(x.validFrom), notAfter: new Date(x.validTo) });
  });

  it('refuses what is not a certificate', () => {
    expect(() => certificateFacts(Buffer.from('300302010a', 'hex'))).toThrow();
  });
});
