/** Fixtures of the ACME validation tests: challenges, settings, tls-alpn-01 certificates, listening servers. */
import { createHash, randomBytes, webcrypto } from 'node:crypto';
import type { Server } from 'node:net';
import * as x509 from '@peculiar/x509';
import { octetString } from '../../src/core/x509/der';
import { toPem } from '../../src/core/x509/pem';
import type { AcmeIdentifier, ChallengeToValidate, ValidationSettings } from '../../src/acme/va';

x509.cryptoProvider.set(webcrypto);

/** A challenge with a fresh token and key authorization (token '.' a random 43-character thumbprint). */
export function challenge(type: ChallengeToValidate['type'], identifier: AcmeIdentifier): ChallengeToValidate {
  const token = randomBytes(32).toString('base64url');
  return { type, identifier, token, keyAuthorization: `${token}.${randomBytes(32).toString('base64url')}` };
}

/** Settings for loopback servers; timeout generous unless a test is about timeouts. */
export function settings(overrides: Partial<ValidationSettings> = {}): ValidationSettings {
  return { http01Port: 80, tlsAlpn01Port: 443, timeoutMs: 10000, ...overrides };
}

/** Starts `server` on host:0 and resolves to its port. */
export function listen(server: Server, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve((server.address() as { port: number }).port));
  });
}

/** Closes a server and every connection it still holds. */
export function close(server: Server & { closeAllConnections?: () => void }): Promise<void> {
  server.closeAllConnections?.();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** What a tls-alpn-01 test certificate carries; by default what RFC 8737 asks for `identifier` and `keyAuthorization`. */
export interface AlpnCertificateSpec {
  sans: { type: 'dns' | 'ip'; value: string }[];
  /** The acmeIdentifier extension: omitted when undefined; `value` replaces the DER OCTET STRING of the digest. */
  acme?: { critical: boolean; keyAuthorization: string; value?: Buffer };
}

/** The spec RFC 8737 asks for: one SAN of the identifier, a critical acmeIdentifier with SHA-256(keyAuthorization). */
export function validAlpnSpec(ch: ChallengeToValidate): AlpnCertificateSpec {
  return { sans: [ch.identifier], acme: { critical: true, keyAuthorization: ch.keyAuthorization } };
}

/** A self-signed P-256 certificate (and its key) built with @peculiar/x509, independently of the code under test. */
export async function alpnCertificate(spec: AlpnCertificateSpec): Promise<{ cert: string; key: string }> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const extensions: x509.Extension[] = [new x509.SubjectAlternativeNameExtension(spec.sans)];
  if (spec.acme) {
    const value = spec.acme.value ?? octetString(createHash('sha256').update(spec.acme.keyAuthorization).digest());
    extensions.push(new x509.Extension('1.3.6.1.5.5.7.1.31', spec.acme.critical, value));
  }
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(8).toString('hex'),
    name: 'CN=acme validation test',
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 3_600_000),
    keys,
    signingAlgorithm: alg,
    extensions,
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  return { cert: cert.toString('pem'), key: toPem(pkcs8, 'PRIVATE KEY') };
}
