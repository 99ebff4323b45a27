/**
 * The tls-alpn-01 certificate check (RFC 8737 §3, RFC 8738 §6): exactly one subjectAltName
 * naming exactly the identifier (a dNSName, or an iPAddress for an IP identifier), and one
 * critical acmeIdentifier extension whose value is the DER OCTET STRING of
 * SHA-256(keyAuthorization). The chain is not checked: the certificate is self-signed by design.
 * Parsed with @peculiar/x509 (extensions) and asn1js (their values).
 */
import { createHash } from 'node:crypto';
import { ipAddressOctets } from '../../core/x509/fields';
import { peculiarX509 } from '../../core/x509/peculiar';
import { ChallengeFailure } from './problems';
import type { AcmeIdentifier } from './types';

/** id-pe-acmeIdentifier (RFC 8737 §6.1). */
export const OID_ACME_IDENTIFIER = '1.3.6.1.5.5.7.1.31';
const OID_SUBJECT_ALT_NAME = '2.5.29.17';
const CONTEXT_CLASS = 3;
const GN_DNS_NAME = 2;
const GN_IP_ADDRESS = 7;

type Extension = import('@peculiar/x509').Extension;

function incorrect(where: string, what: string): ChallengeFailure {
  return new ChallengeFailure('incorrectResponse', `the tls-alpn-01 certificate from ${where} ${what}`);
}

/** The single element `der` holds, or undefined when it is not one well-formed element. */
function parseOne(der: ArrayBuffer): import('asn1js').AsnType | undefined {
  const asn1js = require('asn1js') as typeof import('asn1js');
  const parsed = asn1js.fromBER(der);
  return parsed.offset === der.byteLength ? parsed.result : undefined;
}

/** Whether the SAN extension's value is exactly one GeneralName, and that name is the identifier. */
function sanNamesOnlyIdentifier(value: ArrayBuffer, identifier: AcmeIdentifier): boolean {
  const asn1js = require('asn1js') as typeof import('asn1js');
  const names = parseOne(value);
  if (!(names instanceof asn1js.Sequence) || names.valueBlock.value.length !== 1) return false;
  const [name] = names.valueBlock.value;
  if (!(name instanceof asn1js.Primitive) || name.idBlock.tagClass !== CONTEXT_CLASS) return false;
  const octets = Buffer.from(name.valueBlock.valueHexView);
  if (identifier.type === 'ip') return name.idBlock.tagNumber === GN_IP_ADDRESS && octets.equals(ipAddressOctets(identifier.value));
  return name.idBlock.tagNumber === GN_DNS_NAME && octets.toString('latin1').toLowerCase() === identifier.value;
}

function checkAcmeIdentifier(extensions: Extension[], keyAuthorization: string, where: string): void {
  const asn1js = require('asn1js') as typeof import('asn1js');
  const found = extensions.filter((e) => e.type === OID_ACME_IDENTIFIER);
  if (found.length !== 1) throw incorrect(where, `has ${found.length} acmeIdentifier extensions (${OID_ACME_IDENTIFIER}), expected 1`);
  const [ext] = found;
  if (!ext.critical) throw incorrect(where, 'has an acmeIdentifier extension that is not critical');
  const digest = parseOne(ext.value);
  if (!(digest instanceof asn1js.OctetString) || digest.idBlock.isConstructed || digest.valueBlock.valueHexView.length !== 32) {
    throw incorrect(where, 'has an acmeIdentifier extension that is not an OCTET STRING of 32 bytes');
  }
  const expected = createHash('sha256').update(keyAuthorization).digest();
  if (!expected.equals(Buffer.from(digest.valueBlock.valueHexView)))
    throw incorrect(where, 'has an acmeIdentifier that is not the SHA-256 of the key authorization');
}

/**
 * Checks the certificate a tls-alpn-01 responder at `where` presented.
 * @throws ChallengeFailure (incorrectResponse) naming the first requirement it misses.
 */
export function checkAlpnCertificate(der: Buffer, identifier: AcmeIdentifier, keyAuthorization: string, where: string): void {
  let extensions: Extension[];
  try {
    extensions = [...new (peculiarX509().X509Certificate)(der).extensions];
  } catch {
    throw incorrect(where, 'is not a valid X.509 certificate');
  }
  const sans = extensions.filter((e) => e.type === OID_SUBJECT_ALT_NAME);
  if (sans.length !== 1 || !sanNamesOnlyIdentifier(sans[0].value, identifier)) {
    throw incorrect(where, `does not have exactly one subjectAltName, ${identifier.type === 'ip' ? 'the iPAddress' : 'the dNSName'} ${identifier.value}`);
  }
  checkAcmeIdentifier(extensions, keyAuthorization, where);
}
