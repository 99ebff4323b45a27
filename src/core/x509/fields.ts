/**
 * The fields certificates, CRLs and CSRs share, encoded with der.ts: a Name, an Extension, a
 * serial number, the AuthorityKeyIdentifier and SubjectAltName extensions, and GeneralNames.
 */
import { ipFamily } from '../ip';
import { InvalidInputError } from '../errors';
import {
  boolean,
  ia5String,
  implicit,
  integerFromUnsigned,
  isPrintableString,
  objectIdentifier,
  octetString,
  printableString,
  sequence,
  setOf,
  utf8String,
} from './der';

/** One attribute of a distinguished name; each becomes its own RDN. */
export interface NameAttribute {
  type: 'CN' | 'O' | 'OU' | 'C';
  value: string;
}

const ATTRIBUTE_OIDS: Readonly<Record<NameAttribute['type'], string>> = {
  CN: '2.5.4.3',
  O: '2.5.4.10',
  OU: '2.5.4.11',
  C: '2.5.4.6',
};
// RFC 5280 Appendix A upper bounds (ub-common-name, ub-organization-name, ub-organizational-unit-name).
const ATTRIBUTE_MAX_LENGTH = 64;

function nameValue(attr: NameAttribute): Buffer {
  if (attr.type === 'C') {
    if (!/^[A-Z]{2}$/.test(attr.value)) {
      throw new InvalidInputError(`country "${attr.value}" must be a two-letter ISO 3166 code in upper case, e.g. US`);
    }
    return printableString(attr.value);
  }
  const chars = [...attr.value].length;
  if (chars === 0 || chars > ATTRIBUTE_MAX_LENGTH) {
    throw new InvalidInputError(`${attr.type} must be 1 to ${ATTRIBUTE_MAX_LENGTH} characters, got ${chars}`);
  }
  // Same choice as @peculiar/x509's Name (and Go's crypto/x509): PrintableString when every
  // character allows it, UTF8String otherwise. Both are valid under RFC 5280 4.1.2.4.
  return isPrintableString(attr.value) ? printableString(attr.value) : utf8String(attr.value);
}

/**
 * Name DER: an RDNSequence with one attribute per RDN, in the order given. CN/O/OU are
 * PrintableString when every character allows it, else UTF8String (as @peculiar/x509's
 * Name does); C is PrintableString. `encodeName([])` is the empty name (30 00).
 * @throws InvalidInputError for an empty or over-long (> 64 characters) CN/O/OU, or a C that is not two upper-case letters.
 */
export function encodeName(attrs: NameAttribute[]): Buffer {
  const rdns = attrs.map((attr) => {
    const oid = ATTRIBUTE_OIDS[attr.type];
    if (!oid) throw new InvalidInputError(`unsupported name attribute type "${String(attr.type)}"`);
    return setOf([sequence([objectIdentifier(oid), nameValue(attr)])]);
  });
  return sequence(rdns);
}

const OID_AUTHORITY_KEY_IDENTIFIER = '2.5.29.35';
const OID_SUBJECT_ALT_NAME = '2.5.29.17';
const MAX_SERIAL_OCTETS = 20;

// GeneralName CHOICE tags (RFC 5280 4.2.1.6).
const GN_RFC822_NAME = 1;
const GN_DNS_NAME = 2;
const GN_URI = 6;
const GN_IP_ADDRESS = 7;

/**
 * One Extension (extnID, critical DEFAULT FALSE omitted when false, extnValue wrapping `valueDer`).
 * @throws InvalidInputError when `oid` is not dotted OID text.
 */
export function encodeExtension(oid: string, critical: boolean, valueDer: Buffer): Buffer {
  return critical ? sequence([objectIdentifier(oid), boolean(true), octetString(valueDer)]) : sequence([objectIdentifier(oid), octetString(valueDer)]);
}

/**
 * A serial number as a positive INTEGER (RFC 5280 4.1.2.2).
 * @throws InvalidInputError when the serial is zero or longer than 20 octets once encoded.
 */
export function encodeSerialNumber(serial: Buffer): Buffer {
  const encoded = integerFromUnsigned(serial);
  if (encoded.length === 3 && encoded[2] === 0) throw new InvalidInputError('serial number must be positive, not zero');
  if (encoded.length - 2 > MAX_SERIAL_OCTETS) {
    throw new InvalidInputError(`serial number is ${encoded.length - 2} octets; RFC 5280 allows at most ${MAX_SERIAL_OCTETS}`);
  }
  return encoded;
}

/**
 * The non-critical authorityKeyIdentifier extension holding only keyIdentifier.
 * @throws InvalidInputError for an empty key identifier.
 */
export function encodeAuthorityKeyIdentifierExtension(keyId: Buffer): Buffer {
  if (keyId.length === 0) throw new InvalidInputError('authority key identifier is empty');
  return encodeExtension(OID_AUTHORITY_KEY_IDENTIFIER, false, sequence([implicit(0, octetString(keyId))]));
}

function ipv4Octets(text: string): number[] {
  return text.split('.').map(Number);
}

function ipv6Octets(text: string): number[] {
  let address = text;
  const lastColon = address.lastIndexOf(':');
  const embedded = address.slice(lastColon + 1);
  if (embedded.includes('.')) {
    // "::ffff:192.0.2.1": the dotted quad is the last two 16-bit groups.
    const [a, b, c, d] = ipv4Octets(embedded);
    address = `${address.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = address.split('::');
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail === undefined ? [] : tail ? tail.split(':') : [];
  const groups = tail === undefined ? headGroups : [...headGroups, ...Array<string>(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups];
  const octets: number[] = [];
  for (const group of groups) {
    const value = parseInt(group, 16);
    octets.push(value >> 8, value & 0xff);
  }
  return octets;
}

/**
 * The iPAddress octets: 4 for IPv4, 16 for IPv6.
 * @throws InvalidInputError for text that is not an IP address.
 */
export function ipAddressOctets(text: string): Buffer {
  // A zone ("fe80::1%eth0") is local to one host and has no place in a certificate.
  const family = text.includes('%') ? 0 : ipFamily(text);
  if (family === 4) return Buffer.from(ipv4Octets(text));
  if (family === 6) return Buffer.from(ipv6Octets(text));
  throw new InvalidInputError(`"${text}" is not an IPv4 or IPv6 address`);
}

/**
 * A uniformResourceIdentifier GeneralName.
 * @throws InvalidInputError for an empty or non-ASCII URI.
 */
export function uriGeneralName(uri: string): Buffer {
  if (uri.length === 0) throw new InvalidInputError('URI must not be empty');
  return implicit(GN_URI, ia5String(uri));
}

/**
 * The SubjectAltName extension DER (DNS names, IP addresses, then email addresses and URIs).
 * @throws InvalidInputError for an empty name, an invalid IP address, or a non-ASCII DNS name, email or URI.
 */
export function subjectAltNameExtension(dnsNames: string[], ipAddresses: string[], critical: boolean, uris: string[] = [], emails: string[] = []): Buffer {
  const names: Buffer[] = [];
  for (const dns of dnsNames) {
    if (dns.length === 0) throw new InvalidInputError('DNS name must not be empty');
    names.push(implicit(GN_DNS_NAME, ia5String(dns)));
  }
  for (const ip of ipAddresses) names.push(implicit(GN_IP_ADDRESS, octetString(ipAddressOctets(ip))));
  for (const email of emails) {
    if (email.length === 0) throw new InvalidInputError('email address must not be empty');
    names.push(implicit(GN_RFC822_NAME, ia5String(email)));
  }
  for (const uri of uris) names.push(uriGeneralName(uri));
  return encodeExtension(OID_SUBJECT_ALT_NAME, critical, sequence(names));
}
