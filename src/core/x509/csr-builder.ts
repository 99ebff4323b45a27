import { bitString, constructed, integer, NULL_DER, objectIdentifier, sequence, setOf } from './der';
import { encodeExtension, subjectAltNameExtension } from './fields';
import { encodeSubject, type SubjectAttributes } from './subject';
import type { DerSigner } from './signing';

const EXTENSION_REQUEST = '1.2.840.113549.1.9.14';
const OCSP_NOCHECK = '1.3.6.1.5.5.7.48.1.5';

/** What a PKCS#10 request built for a remote signer carries: the subject, its SANs and its key. */
export interface CsrTemplate {
  commonName: string;
  subject?: SubjectAttributes;
  dnsNames: string[];
  ipAddresses: string[];
  uris?: string[];
  emails?: string[];
  spkiDer: Buffer;
  /** Ask for id-pkix-ocsp-nocheck (the `ocsp` profile): a remote CA that copies extensions from the CSR (Vault's sign-verbatim) writes it only from here. */
  ocspNoCheck?: boolean;
}

/**
 * A PKCS#10 CertificationRequest (RFC 2986) signed with the subject's own key, for a remote
 * signer that takes a CSR (Vault's `sign/:role`). Written with the same DER encoder as certificates, because
 * certctl already holds the key as a KeyObject and builds names and SANs byte for byte.
 * @throws InvalidInputError for a name or SAN the encoder refuses.
 */
export function buildCsrDer(t: CsrTemplate, subjectSigner: DerSigner): Buffer {
  const attributes: Buffer[] = [];
  const requested: Buffer[] = [];
  if (t.dnsNames.length || t.ipAddresses.length || t.uris?.length || t.emails?.length) {
    requested.push(subjectAltNameExtension(t.dnsNames, t.ipAddresses, !t.commonName, t.uris, t.emails));
  }
  if (t.ocspNoCheck) requested.push(encodeExtension(OCSP_NOCHECK, false, NULL_DER));
  if (requested.length) attributes.push(sequence([objectIdentifier(EXTENSION_REQUEST), setOf([sequence(requested)])]));
  const info = sequence([
    integer(0),
    encodeSubject(t.commonName, t.subject),
    t.spkiDer,
    constructed(0xa0, attributes), // [0] IMPLICIT Attributes
  ]);
  return sequence([info, subjectSigner.algorithmIdentifierDer, bitString(subjectSigner.sign(info))]);
}
