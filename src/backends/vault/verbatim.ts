import { NotSupportedError } from '../../core/errors';
import type { LeafSpec } from '../../core/signer';
import { extKeyUsageOid, type ExtKeyUsageName } from '../../core/x509/certificate-builder';
import { peculiarX509 } from '../../core/x509/peculiar';
import { KEY_USAGE } from './pki-roles';

const OCSP_NOCHECK = '1.3.6.1.5.5.7.48.1.5';
/** Extended key usages by the names `sign-verbatim` takes (no role, so no role flags). */
const EKU_NAMES: Partial<Record<ExtKeyUsageName, string>> = {
  serverAuth: 'ServerAuth',
  clientAuth: 'ClientAuth',
  codeSigning: 'CodeSigning',
  emailProtection: 'EmailProtection',
  OCSPSigning: 'OCSPSigning',
  timeStamping: 'TimeStamping',
};

/**
 * The body of `POST <mount>/issuer/<issuer>/sign-verbatim` for a certificate with
 * id-pkix-ocsp-nocheck (profile `ocsp`). No Vault 1.14 role writes that extension; sign-verbatim
 * copies it from the CSR — and with it the CSR's subject and every other extension it requests
 * (but basicConstraints, which it then writes none of) — so the CSR is checked first to ask for
 * the CN alone and that one extension: what the core checks afterwards (signed-check.ts) could
 * not be undone once Vault has signed.
 * @throws NotSupportedError, before any Vault call, for a CSR sign-verbatim would take more from.
 */
export function verbatimBody(spec: LeafSpec, csrPem: string, notAfter: string): Record<string, unknown> {
  const x509 = peculiarX509();
  const csr = new x509.Pkcs10CertificateRequest(csrPem);
  const requested = csr.extensions.map((e) => e.type);
  const subject = csr.subjectName.toJSON().flatMap((rdn) => Object.entries(rdn).flatMap(([type, values]) => values.map((v) => `${type}=${v}`)));
  const names = spec.dnsNames.length + spec.ipAddresses.length + (spec.uris?.length ?? 0) + (spec.emails?.length ?? 0);
  if (requested.length !== 1 || requested[0] !== OCSP_NOCHECK || subject.length !== 1 || subject[0] !== `CN=${spec.commonName}` || names > 0 || spec.subject) {
    throw new NotSupportedError(
      'Vault writes id-pkix-ocsp-nocheck (profile ocsp) only through sign-verbatim, which copies the CSR: send a CSR with the CN alone, no SAN, requesting that one extension (openssl req -addext 1.3.6.1.5.5.7.48.1.5=DER:05:00)',
    );
  }
  return {
    csr: csrPem,
    key_usage: spec.keyUsage.map((u) => KEY_USAGE[u]),
    ext_key_usage: spec.extKeyUsage.flatMap((u) => EKU_NAMES[u] ?? []),
    ext_key_usage_oids: spec.extKeyUsage.filter((u) => !EKU_NAMES[u]).map((u) => extKeyUsageOid(u) ?? u),
    not_after: notAfter,
  };
}
