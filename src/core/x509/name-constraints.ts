/**
 * The NameConstraints extension (RFC 5280 4.2.1.10) for the DNS and IP subtrees certctl writes:
 * encoding for the certificate builder, reading back from any CA certificate, and the
 * address+mask form of an iPAddress subtree.
 */
import { ipFamily } from '../ip';
import { InvalidInputError } from '../errors';
import { ia5String, implicit, octetString, sequence } from './der';
import { children, readTlv, type Tlv } from './der-reader';
import { encodeExtension, ipAddressOctets } from './fields';

/** The DNS and IP subtrees of a CA's NameConstraints. Empty lists are absent from the certificate. */
export interface NameConstraints {
  /** dNSName subtrees, lower case, as written in the certificate (`internal.example`). */
  permittedDns: string[];
  excludedDns: string[];
  /** iPAddress subtrees as CIDR text (`10.0.0.0/8`, `fd00::/8`). */
  permittedIps: string[];
  excludedIps: string[];
}

/** One iPAddress subtree: the address and mask octets (4+4 or 16+16). */
export interface IpSubtree {
  address: Buffer;
  mask: Buffer;
}

const OID_NAME_CONSTRAINTS = '2.5.29.30';
const OID_NAME_CONSTRAINTS_DER = Buffer.from('0603551d1e', 'hex');
// GeneralName CHOICE tags (RFC 5280 4.2.1.6) and the two GeneralSubtrees fields.
const GN_DNS_NAME = 2;
const GN_IP_ADDRESS = 7;
const PERMITTED = 0;
const EXCLUDED = 1;

/** Whether the constraints name any subtree at all. */
export function hasNameConstraints(nc: NameConstraints | undefined): nc is NameConstraints {
  return !!nc && nc.permittedDns.length + nc.excludedDns.length + nc.permittedIps.length + nc.excludedIps.length > 0;
}

/**
 * Parses CIDR text into address and mask octets. Accepts `ADDR/PREFIX`, and `ADDR/MASK` (a mask
 * in address form) for what another CA wrote with a non-contiguous mask.
 * @throws InvalidInputError for a malformed address or prefix, or host bits set under the mask.
 */
export function parseIpSubtree(cidr: string): IpSubtree {
  const slash = cidr.indexOf('/');
  const addressText = slash < 0 ? cidr : cidr.slice(0, slash);
  const prefixText = slash < 0 ? '' : cidr.slice(slash + 1);
  const family = ipFamily(addressText);
  if (!family || addressText.includes('%')) throw new InvalidInputError(`"${cidr}" is not ADDRESS/PREFIX: "${addressText}" is not an IPv4 or IPv6 address`);
  const address = ipAddressOctets(addressText);
  let mask: Buffer;
  if (/^\d{1,3}$/.test(prefixText) && Number(prefixText) <= address.length * 8) {
    mask = Buffer.alloc(address.length);
    for (let bit = 0; bit < Number(prefixText); bit++) mask[bit >> 3] |= 0x80 >> (bit & 7);
  } else if (ipFamily(prefixText) === family) {
    mask = ipAddressOctets(prefixText);
  } else {
    throw new InvalidInputError(`"${cidr}" is not ADDRESS/PREFIX: the prefix length must be 0 to ${address.length * 8}, e.g. 10.0.0.0/8`);
  }
  if (address.some((octet, i) => (octet & ~mask[i]) !== 0)) {
    throw new InvalidInputError(`"${cidr}" has bits set past its prefix; give the network address (e.g. 10.0.0.0/8, not 10.0.0.1/8)`);
  }
  return { address, mask };
}

/** Canonical CIDR text of a subtree: `ADDR/PREFIX` for a contiguous mask, `ADDR/MASK` otherwise. */
export function ipSubtreeText({ address, mask }: IpSubtree): string {
  const half = address.length;
  const bits = [...mask].map((b) => b.toString(2).padStart(8, '0')).join('');
  const text = (b: Buffer) =>
    half === 4 ? [...b].join('.') : new URL(`http://[${(b.toString('hex').match(/.{4}/g) ?? []).join(':')}]/`).hostname.slice(1, -1);
  return /^1*0*$/.test(bits) ? `${text(address)}/${bits.indexOf('0') < 0 ? bits.length : bits.indexOf('0')}` : `${text(address)}/${text(mask)}`;
}

function subtrees(dns: string[], ips: string[]): Buffer[] {
  const out: Buffer[] = [];
  for (const name of dns) {
    if (name.length === 0) throw new InvalidInputError('a dNSName constraint must not be empty');
    out.push(sequence([implicit(GN_DNS_NAME, ia5String(name))]));
  }
  for (const cidr of ips) {
    const { address, mask } = parseIpSubtree(cidr);
    out.push(sequence([implicit(GN_IP_ADDRESS, octetString(Buffer.concat([address, mask])))]));
  }
  return out;
}

/**
 * The critical NameConstraints extension DER: permitted subtrees, then excluded ones; in each,
 * dNSName subtrees then iPAddress subtrees, in the order given (as OpenSSL writes a config in that order).
 * @throws InvalidInputError when no subtree is given, for an empty name or malformed CIDR text.
 */
export function nameConstraintsExtension(nc: NameConstraints): Buffer {
  const permitted = subtrees(nc.permittedDns, nc.permittedIps);
  const excluded = subtrees(nc.excludedDns, nc.excludedIps);
  if (permitted.length + excluded.length === 0) throw new InvalidInputError('NameConstraints needs at least one subtree (RFC 5280 4.2.1.10)');
  const fields: Buffer[] = [];
  if (permitted.length) fields.push(implicit(PERMITTED, sequence(permitted)));
  if (excluded.length) fields.push(implicit(EXCLUDED, sequence(excluded)));
  // RFC 5280 4.2.1.10: conforming CAs MUST mark this extension as critical.
  return encodeExtension(OID_NAME_CONSTRAINTS, true, sequence(fields));
}

/** The extnValue contents of the NameConstraints extension of a certificate, if it has one. */
function extensionValue(der: Buffer): Buffer | undefined {
  const cert = readTlv(der, 0);
  const tbs = readTlv(der, cert.contentStart);
  const wrapper = children(der, tbs).find((f) => f.tag === 0xa3);
  if (!wrapper) return undefined;
  for (const ext of children(der, readTlv(der, wrapper.contentStart))) {
    const parts = children(der, ext);
    if (!der.subarray(parts[0].start, parts[0].end).equals(OID_NAME_CONSTRAINTS_DER)) continue;
    const octets = parts[parts.length - 1];
    return Buffer.from(der.subarray(octets.contentStart, octets.end));
  }
  return undefined;
}

/**
 * The DNS and IP subtrees of a certificate's NameConstraints, or undefined without the extension.
 * Subtrees of other name types (email, URI, directoryName) are not returned: certctl issues none.
 * @throws InvalidInputError when the DER is not a certificate or the extension is malformed.
 */
export function readNameConstraints(certDer: Buffer): NameConstraints | undefined {
  const value = extensionValue(certDer);
  if (!value) return undefined;
  const nc: NameConstraints = { permittedDns: [], excludedDns: [], permittedIps: [], excludedIps: [] };
  const top = readTlv(value, 0);
  for (const field of children(value, top)) {
    const which = field.tag & 0x1f;
    if (which !== PERMITTED && which !== EXCLUDED) continue;
    for (const subtree of children(value, field)) {
      const base: Tlv | undefined = children(value, subtree)[0];
      if (!base) throw new InvalidInputError('malformed NameConstraints: an empty GeneralSubtree');
      const content = value.subarray(base.contentStart, base.end);
      if (base.tag === (0x80 | GN_DNS_NAME)) {
        (which === PERMITTED ? nc.permittedDns : nc.excludedDns).push(content.toString('latin1').toLowerCase());
      } else if (base.tag === (0x80 | GN_IP_ADDRESS)) {
        if (content.length !== 8 && content.length !== 32)
          throw new InvalidInputError(`malformed NameConstraints: an iPAddress subtree of ${content.length} octets`);
        (which === PERMITTED ? nc.permittedIps : nc.excludedIps).push(
          ipSubtreeText({ address: Buffer.from(content.subarray(0, content.length / 2)), mask: Buffer.from(content.subarray(content.length / 2)) }),
        );
      }
    }
  }
  return nc;
}
