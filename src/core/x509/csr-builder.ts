import { bitString, constructed, integer, objectIdentifier, sequence, setOf } from './der';
import { subjectAltNameExtension } from './fields';
import { encodeSubject, type SubjectAttributes } from './subject';
import type { DerSigner } from './signing';

const EXTENSION_REQUEST = '1.2.840.113549.1.9.14';

/** What a PKCS#10 request built for a remote signer carries: the subject, its SANs and its key. */
export interface CsrTemplate {
  commonName: string;
  subject?: SubjectAttributes;
  dnsNames: string[];
  ipAddresses: string[];
  uris?: string[];
  emails?: string[];
  spkiDer: Buffer;
}

/**
 * A PKCS#10 CertificationRequest (RFC 2986) signed with the subject's own key, for a remote
 * signer that takes a CSR (Vault's `sign/:role`). Written with the same DER encoder as certificates, because
 * certctl already holds the key as a KeyObject and builds names and SANs byte for byte.
 * @throws InvalidInputError for a name or SAN the encoder refuses.
 */
export function buildCsrDer(t: CsrTemplate, subjectSigner: DerSigner): Buffer {
  const attributes: Buffer[] = [];
  if (t.dnsNames.length || t.ipAddresses.length || t.uris?.length || t.emails?.length) {
    const extensions = sequence([subjectAltNameExtension(t.dnsNames, t.ipAddresses, !t.commonName, t.uris, t.emails)]);
    attributes.push(sequence([objectIdentifier(EXTENSION_REQUEST), setOf([extensions])]));
  }
  const info = sequence([
    integer(0),
    encodeSubject(t.commonName, t.subject),
    t.spkiDer,
    constructed(0xa0, attributes), // [0] IMPLICIT Attributes
  ]);
  return sequence([info, subjectSigner.algorithmIdentifierDer, bitString(subjectSigner.sign(info))]);
}
