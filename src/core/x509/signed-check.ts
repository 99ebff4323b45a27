import { X509Certificate } from 'node:crypto';
import { ipFamily } from '../ip';
import { InternalError } from '../errors';
import { parseSerial } from '../serial';
import type { LeafSpec } from '../signer';
import { extKeyUsageOid, type KeyUsageName } from './certificate-builder';
import { SUBJECT_ATTRIBUTES, subjectAttributeOid } from './subject';
import { peculiarX509 } from './peculiar';

/** What the core reads from a certificate a remote signer returned, once it has passed the check. */
export interface SignedFacts {
  /** Canonical serial: uppercase hex, even length. */
  serial: string;
  notBefore: Date;
  notAfter: Date;
}

/** How far a remote CA's validity may stray from the request: Vault rounds to the second and may backdate by its own clock. */
const VALIDITY_SLACK_MS = 120_000;

/** id-pkix-ocsp-nocheck (RFC 6960 4.2.2.2.1): present exactly when the profile asks for it (`ocsp`). */
const OID_OCSP_NOCHECK = '1.3.6.1.5.5.7.48.1.5';

const KEY_USAGE_FLAGS: Record<KeyUsageName, number> = {
  digitalSignature: 1,
  contentCommitment: 2,
  keyEncipherment: 4,
  dataEncipherment: 8,
  keyAgreement: 16,
  keyCertSign: 32,
  cRLSign: 64,
};

/**
 * Checks a certificate a remote signer returned against what the core asked for, before anything
 * is stored: the public key, subject CN and attributes (as values per type: a remote CA may order
 * and encode them its own way), DNS, IP, URI and email SANs, key usage, extended key usage,
 * id-pkix-ocsp-nocheck and basic constraints exactly as in `spec`, validity within two minutes of it, issued by `caPem`
 * (names and signature). A remote CA is trusted to sign, not to decide what it signs.
 * @returns the serial and validity as the certificate states them (a remote CA picks its serial).
 * @throws InternalError naming the field that differs and the serial, so the operator can revoke
 *   it at the CA; nothing is stored.
 */
export function checkSignedCertificate(der: Buffer, spec: LeafSpec, caPem: string, signerKind: string): SignedFacts {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(der);
  } catch (err) {
    throw new InternalError(`the ${signerKind} signer returned something that is not an X.509 certificate; nothing was stored`, { cause: err });
  }
  const serial = parseSerial(cert.serialNumber);
  const fail = (field: string, got: string, wanted: string) =>
    new InternalError(
      `the ${signerKind} signer returned certificate ${serial} with ${field} ${got}, not ${wanted} as asked; nothing was stored — revoke serial ${serial} at that CA and check its configuration`,
    );
  const ca = new X509Certificate(caPem);
  if (!cert.checkIssued(ca)) throw fail('issuer', `"${cert.issuer.replace(/\n/g, ', ')}"`, `the CA "${ca.subject.replace(/\n/g, ', ')}"`);
  if (!cert.verify(ca.publicKey)) throw fail('a signature', 'that does not verify with the CA key', 'a valid one');
  const spki = cert.publicKey.export({ type: 'spki', format: 'der' });
  if (!spki.equals(spec.spkiDer)) throw fail('public key', 'of another key pair', 'the requested key');
  checkValidity(cert, spec, fail);
  checkExtensions(der, spec, fail);
  return { serial, notBefore: new Date(cert.validFrom), notAfter: new Date(cert.validTo) };
}

type Fail = (field: string, got: string, wanted: string) => InternalError;

function checkValidity(cert: X509Certificate, spec: LeafSpec, fail: Fail): void {
  const notBefore = new Date(cert.validFrom);
  const notAfter = new Date(cert.validTo);
  if (Math.abs(notBefore.getTime() - spec.notBefore.getTime()) > VALIDITY_SLACK_MS) {
    throw fail('notBefore', notBefore.toISOString(), spec.notBefore.toISOString());
  }
  if (Math.abs(notAfter.getTime() - spec.notAfter.getTime()) > VALIDITY_SLACK_MS) {
    throw fail('notAfter', notAfter.toISOString(), spec.notAfter.toISOString());
  }
}

/** Names and the profile's extensions, read with @peculiar/x509 (node's X509Certificate does not expose key usage bits). */
function checkExtensions(der: Buffer, spec: LeafSpec, fail: Fail): void {
  const x509 = peculiarX509();
  const cert = new x509.X509Certificate(der);
  const cn = cert.subjectName.getField('CN')[0] ?? '';
  if (cn !== spec.commonName) throw fail('subject CN', `"${cn}"`, `"${spec.commonName}"`);
  checkSubjectAttributes(cert.subjectName, spec, fail);

  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const names = san?.names.items ?? [];
  const dns = names.filter((n) => n.type === 'dns').map((n) => n.value.toLowerCase());
  const ips = names.filter((n) => n.type === 'ip').map((n) => normalizeIp(n.value));
  sameSet(
    'DNS names',
    dns,
    spec.dnsNames.map((d) => d.toLowerCase()),
    fail,
  );
  sameSet('IP addresses', ips, spec.ipAddresses.map(normalizeIp), fail);
  sameSet(
    'URIs',
    names.filter((n) => n.type === 'url').map((n) => n.value),
    spec.uris ?? [],
    fail,
  );
  sameSet(
    'email addresses',
    names.filter((n) => n.type === 'email').map((n) => n.value),
    spec.emails ?? [],
    fail,
  );
  const others = names.filter((n) => !['dns', 'ip', 'url', 'email'].includes(n.type)).map((n) => `${n.type}:${n.value}`);
  if (others.length) throw fail('subject alternative names', others.join(', '), 'DNS, IP, URI and email names only');

  const ku = cert.getExtension(x509.KeyUsagesExtension);
  const wantedKu = spec.keyUsage.reduce((bits, u) => bits | KEY_USAGE_FLAGS[u], 0);
  if (!ku || Number(ku.usages) !== wantedKu) throw fail('key usage', ku ? describeKeyUsage(Number(ku.usages)) : '(none)', spec.keyUsage.join(', '));

  const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
  sameSet(
    'extended key usage',
    (eku?.usages ?? []).map(String),
    spec.extKeyUsage.map((u) => extKeyUsageOid(u) ?? u),
    fail,
  );

  const nocheck = cert.extensions.some((e) => e.type === OID_OCSP_NOCHECK);
  if (nocheck !== Boolean(spec.ocspNoCheck)) throw fail('id-pkix-ocsp-nocheck', nocheck ? 'present' : 'absent', spec.ocspNoCheck ? 'present' : 'absent');

  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  // A remote CA writes nocheck only by copying it from the CSR (Vault's sign-verbatim), and then no
  // basicConstraints at all: for a leaf that is CA:false (RFC 5280 4.2.1.9), so it is let through.
  if (!bc && spec.ocspNoCheck && !spec.basicConstraints.ca) return;
  if (!bc || !bc.critical || bc.ca !== spec.basicConstraints.ca) {
    throw fail('basic constraints', bc ? `CA:${bc.ca}${bc.critical ? '' : ' (not critical)'}` : '(none)', `critical CA:${spec.basicConstraints.ca}`);
  }
}

/** Subject attributes besides CN: the same values per type, and no attribute the request did not ask for. */
function checkSubjectAttributes(name: import('@peculiar/x509').Name, spec: LeafSpec, fail: Fail): void {
  let expected = spec.commonName ? 1 : 0;
  for (const type of SUBJECT_ATTRIBUTES) {
    const wanted = spec.subject?.[type] ?? [];
    expected += wanted.length;
    sameSet(`subject ${type}`, name.getField(subjectAttributeOid(type)), wanted, fail);
  }
  const all = name.toJSON().flatMap((rdn) => Object.entries(rdn).flatMap(([type, values]) => values.map((v) => `${type}=${v}`)));
  if (all.length !== expected) throw fail('subject', `"${name.toString()}"`, `${expected} attribute${expected === 1 ? '' : 's'}`);
}

function sameSet(field: string, got: string[], wanted: string[], fail: Fail): void {
  const a = [...new Set(got)].sort();
  const b = [...new Set(wanted)].sort();
  if (a.length !== b.length || a.some((v, i) => v !== b[i])) throw fail(field, `[${a.join(', ')}]`, `[${b.join(', ')}]`);
}

function describeKeyUsage(bits: number): string {
  return (
    (Object.entries(KEY_USAGE_FLAGS) as [KeyUsageName, number][])
      .filter(([, bit]) => bits & bit)
      .map(([name]) => name)
      .join(', ') || '(none)'
  );
}

/** One spelling per address: IPv6 compressed and lowercase, IPv4 as is. */
function normalizeIp(ip: string): string {
  if (ipFamily(ip) !== 6) return ip;
  return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
}
