import { createPublicKey } from 'node:crypto';
import { InvalidInputError, PolicyError } from './errors';
import { keyTypeOf } from './keys';
import { peculiarX509 } from './x509/peculiar';
import type { KeyType } from './types';
import type { SubjectAttributeName, SubjectAttributes } from './x509/subject';

/** What certctl takes from a CSR. Which fields are honoured is explicit: */
export interface ParsedCsr {
  /** Subject CN: honoured (checked by policy). */
  commonName: string;
  /** O, OU, C, ST, L, serialNumber: honoured where the profile allows them, else dropped with a warning. */
  subject: SubjectAttributes;
  /** DNS, IP, URI and email SANs: honoured after policy. Any other SAN type is refused. */
  dnsNames: string[];
  ipAddresses: string[];
  uris: string[];
  emails: string[];
  /** The public key: honoured after the key-type check. */
  spkiDer: Buffer;
  keyType: KeyType;
  csrDer: Buffer;
  /** What was in the CSR and ignored (subject attributes certctl never writes, requested key usages, EKUs). */
  ignored: string[];
}

const OID_BASIC_CONSTRAINTS = '2.5.29.19';
const OID_SAN = '2.5.29.17';
const OID_DSA = '1.2.840.10040.4.1';
/** Subject attribute types as @peculiar/x509's Name reports them, and what certctl calls them. */
const SUBJECT_TYPES: Record<string, SubjectAttributeName> = {
  C: 'C',
  ST: 'ST',
  L: 'L',
  O: 'O',
  OU: 'OU',
  '2.5.4.5': 'serialNumber',
  serialNumber: 'serialNumber',
};
const EXTENSION_NAMES: Record<string, string> = {
  '2.5.29.15': 'keyUsage (the profile sets key usage)',
  '2.5.29.37': 'extendedKeyUsage (the profile sets EKU)',
  '2.5.29.14': 'subjectKeyIdentifier (computed by certctl)',
};

/**
 * Parses and verifies a PKCS#10 CSR. Never honours the CSR's CA bit, key usages or
 * extended key usages: the profile decides those.
 * @throws InvalidInputError for malformed PEM/DER or a bad signature;
 *         PolicyError for CA:true, a weak or unsupported key, or a SAN type certctl does not sign (other than DNS, IP, URI, email).
 */
export async function parseCsr(pem: string, source: string): Promise<ParsedCsr> {
  const x509 = peculiarX509();
  const text = pem.trim();
  if (!/^-----BEGIN (NEW )?CERTIFICATE REQUEST-----[\s\S]+-----END (NEW )?CERTIFICATE REQUEST-----$/.test(text)) {
    throw new InvalidInputError(`${source}: not a PEM certificate request (expected -----BEGIN CERTIFICATE REQUEST----- … -----END CERTIFICATE REQUEST-----)`);
  }
  let csr: import('@peculiar/x509').Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(text.replace(/NEW CERTIFICATE REQUEST/g, 'CERTIFICATE REQUEST'));
  } catch (err) {
    throw new InvalidInputError(`${source}: the certificate request cannot be parsed (truncated or corrupt DER): ${(err as Error).message}`, { cause: err });
  }
  const spkiDer = Buffer.from(csr.publicKey.rawData);
  if ((csr.publicKey.algorithm as { name?: string }).name === 'DSA' || spkiDer.includes(Buffer.from('06072a8648ce380401', 'hex'))) {
    throw new PolicyError(`${source}: DSA keys are not supported (OID ${OID_DSA}); use EC P-256/P-384, RSA 2048+ or Ed25519`);
  }
  let keyType: KeyType;
  try {
    keyType = keyTypeOf(createPublicKey({ key: spkiDer, format: 'der', type: 'spki' }), `${source}: public key`);
  } catch (err) {
    if (err instanceof PolicyError) throw err;
    throw new InvalidInputError(`${source}: the public key in the request cannot be read`, { cause: err });
  }
  let valid = false;
  try {
    valid = await csr.verify();
  } catch (err) {
    throw new InvalidInputError(`${source}: the request's signature cannot be verified: ${(err as Error).message}`, { cause: err });
  }
  if (!valid) {
    throw new InvalidInputError(`${source}: the request's signature does not verify; it was altered or signed with another key — make a new CSR`);
  }

  return { ...readRequested(csr, x509, source), spkiDer, keyType, csrDer: Buffer.from(csr.rawData) };
}

/** The names a certificate carries, read as a CSR's are: what a renewal asks for again. */
export type CertificateNames = Pick<ParsedCsr, 'commonName' | 'subject' | 'dnsNames' | 'ipAddresses' | 'uris' | 'emails'>;

/**
 * The CN, subject attributes (O, OU, C, ST, L, serialNumber) and DNS, IP, URI and email SANs of a
 * certificate, so that a client renewing with a new key (`certctl agent`) asks for exactly them.
 * @throws InvalidInputError when `pem` is not a certificate; PolicyError for a SAN type certctl does not sign.
 */
export function certificateNames(pem: string, source: string): CertificateNames {
  const x509 = peculiarX509();
  let cert: import('@peculiar/x509').X509Certificate;
  try {
    cert = new x509.X509Certificate(pem);
  } catch (err) {
    throw new InvalidInputError(`${source}: not a PEM certificate: ${(err as Error).message}`, { cause: err });
  }
  const { commonName, subject, dnsNames, ipAddresses, uris, emails } = readRequested(cert, x509, source);
  return { commonName, subject, dnsNames, ipAddresses, uris, emails };
}

/**
 * The names a CSR (or a certificate) asks for, and what in it certctl ignores.
 * @throws PolicyError for CA:true or a SAN type other than DNS, IP, URI and email.
 */
function readRequested(
  csr: Pick<import('@peculiar/x509').Pkcs10CertificateRequest, 'subjectName' | 'extensions'>,
  x509: typeof import('@peculiar/x509'),
  source: string,
): Pick<ParsedCsr, 'commonName' | 'subject' | 'dnsNames' | 'ipAddresses' | 'uris' | 'emails' | 'ignored'> {
  const ignored: string[] = [];
  let commonName = '';
  const subject: SubjectAttributes = {};
  for (const rdn of csr.subjectName.toJSON()) {
    for (const [type, values] of Object.entries(rdn)) {
      const known = SUBJECT_TYPES[type];
      if (type === 'CN' && !commonName) commonName = values[0];
      else if (known) subject[known] = [...(subject[known] ?? []), ...values];
      else ignored.push(`subject ${type}`);
    }
  }
  const dnsNames: string[] = [];
  const ipAddresses: string[] = [];
  const uris: string[] = [];
  const emails: string[] = [];
  for (const ext of csr.extensions) {
    if (ext.type === OID_BASIC_CONSTRAINTS) {
      const bc = new x509.BasicConstraintsExtension(ext.rawData);
      if (bc.ca) {
        throw new PolicyError(
          `${source}: the request asks for CA:true (basicConstraints); certctl never makes a CA from a CSR — use \`certctl init --parent\` for an intermediate`,
        );
      }
    } else if (ext.type === OID_SAN) {
      const san = new x509.SubjectAlternativeNameExtension(ext.rawData);
      for (const name of san.names.items) {
        if (name.type === 'dns') dnsNames.push(name.value);
        else if (name.type === 'ip') ipAddresses.push(name.value);
        else if (name.type === 'url') uris.push(name.value);
        else if (name.type === 'email') emails.push(name.value);
        else {
          throw new PolicyError(
            `${source}: subjectAltName of type ${name.type} ("${name.value}") is not signed by certctl; request only DNS, IP, URI and email names`,
          );
        }
      }
    } else {
      ignored.push(EXTENSION_NAMES[ext.type] ?? `extension ${ext.type}`);
    }
  }
  return { commonName, subject, dnsNames, ipAddresses, uris, emails, ignored };
}
