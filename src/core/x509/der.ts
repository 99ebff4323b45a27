/**
 * A minimal DER (ITU-T X.690) writer for the fixed shapes certctl issues.
 *
 * Why this is hand-written: issuance has to sustain at least 2,500 EC P-256
 * certificates per second on two cores, and profiling showed
 * @peculiar/asn1-schema's generic encoder (a schema walk that builds an asn1js
 * object graph for every field, then serialises it) taking about 60% of the time.
 * No library encodes a fixed-shape certificate fast enough, so the certificate,
 * CRL and CSR builders write the handful of DER types they need straight into
 * Buffers. The tests under test/unit/core/x509 prove the output byte-identical to
 * @peculiar/x509's generators.
 *
 * Reading is split the same way: der-reader.ts picks the few fields the signer needs
 * out of its own CA certificate by hand; input from outside (a CSR to sign, a remote
 * signer's certificate) is parsed and verified with @peculiar/x509 and node:crypto
 * (core/csr.ts, x509/signed-check.ts).
 *
 * Every function returns one complete TLV. Constructed types take their children
 * already encoded and copy them once into a single allocation, so the cost of a
 * certificate is a few dozen small copies and no intermediate object graph.
 * Returned Buffers may be shared (OIDs are cached): treat them as read-only.
 */
import { InternalError, InvalidInputError } from '../errors';

/** Universal tag octets used by the builders. */
export const Tag = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OBJECT_IDENTIFIER: 0x06,
  ENUMERATED: 0x0a,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

const CONSTRUCTED = 0x20;
const CONTEXT_SPECIFIC = 0x80;
// Our tags always fit in one identifier octet; 31 would switch to the multi-octet form.
const MAX_LOW_TAG_NUMBER = 30;

function headerSize(length: number): number {
  if (length < 0x80) return 2;
  if (length < 0x100) return 3;
  if (length < 0x10000) return 4;
  if (length < 0x1000000) return 5;
  if (length <= 0xffffffff) return 6;
  throw new InternalError(`DER length ${length} is beyond what certctl encodes`);
}

/** Writes tag and definite length at `offset`; returns the offset of the content. */
function writeHeader(out: Buffer, offset: number, tag: number, length: number): number {
  out[offset++] = tag;
  if (length < 0x80) {
    out[offset++] = length;
    return offset;
  }
  const octets = headerSize(length) - 2;
  out[offset++] = 0x80 | octets;
  for (let shift = (octets - 1) * 8; shift >= 0; shift -= 8) out[offset++] = (length >>> shift) & 0xff;
  return offset;
}

/** A TLV with a single-octet `tag` around `content` (copied). */
function tlv(tag: number, content: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(headerSize(content.length) + content.length);
  out.set(content, writeHeader(out, 0, tag, content.length));
  return out;
}

/** A constructed TLV whose content is the concatenation of `children`, copied once. */
export function constructed(tag: number, children: readonly Uint8Array[]): Buffer {
  let length = 0;
  for (const child of children) length += child.length;
  const out = Buffer.allocUnsafe(headerSize(length) + length);
  let offset = writeHeader(out, 0, tag, length);
  for (const child of children) {
    out.set(child, offset);
    offset += child.length;
  }
  return out;
}

/** SEQUENCE / SEQUENCE OF over already-encoded children, in the order given. */
export function sequence(children: readonly Uint8Array[]): Buffer {
  return constructed(Tag.SEQUENCE, children);
}

// X.690 11.6: SET OF elements in ascending order, the shorter padded with trailing zero octets.
function compareSetOfElements(a: Uint8Array, b: Uint8Array): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = i < a.length ? a[i] : 0;
    const y = i < b.length ? b[i] : 0;
    if (x !== y) return x - y;
  }
  return 0;
}

/** SET OF over already-encoded children, sorted into DER order (a single child costs no sort). */
export function setOf(children: readonly Uint8Array[]): Buffer {
  return constructed(Tag.SET, children.length > 1 ? [...children].sort(compareSetOfElements) : children);
}

function unsignedInteger(tag: number, magnitude: Uint8Array): Buffer {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  if (magnitude.length === 0) return Buffer.from([tag, 1, 0]);
  // A set top bit would read as negative; the 0x00 octet keeps the value positive.
  const pad = magnitude[start] & 0x80 ? 1 : 0;
  const length = magnitude.length - start + pad;
  const out = Buffer.allocUnsafe(headerSize(length) + length);
  let offset = writeHeader(out, 0, tag, length);
  if (pad) out[offset++] = 0;
  out.set(magnitude.subarray(start), offset);
  return out;
}

function bigintMagnitude(value: bigint | number, what: string): Buffer {
  const big = typeof value === 'bigint' ? value : Number.isSafeInteger(value) ? BigInt(value) : NaN;
  if (typeof big !== 'bigint' || big < 0n) {
    throw new InvalidInputError(`${what} must be a non-negative integer, got ${String(value)}`);
  }
  const hex = big.toString(16);
  return Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex');
}

/**
 * INTEGER from an unsigned big-endian magnitude: redundant leading zero octets are
 * stripped and a 0x00 octet is prepended when the top bit is set. An empty magnitude is 0.
 */
export function integerFromUnsigned(magnitude: Uint8Array): Buffer {
  return unsignedInteger(Tag.INTEGER, magnitude);
}

/**
 * INTEGER from a non-negative number or bigint.
 * @throws InvalidInputError for a negative, fractional or unsafe number.
 */
export function integer(value: bigint | number): Buffer {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value < 0x80) {
    return Buffer.from([Tag.INTEGER, 1, value]);
  }
  return unsignedInteger(Tag.INTEGER, bigintMagnitude(value, 'INTEGER'));
}

/**
 * ENUMERATED from a non-negative number.
 * @throws InvalidInputError for a negative or fractional number.
 */
export function enumerated(value: number): Buffer {
  return unsignedInteger(Tag.ENUMERATED, bigintMagnitude(value, 'ENUMERATED'));
}

const OID_PATTERN = /^[0-2](?:\.(?:0|[1-9][0-9]*))+$/;
const OID_CACHE_LIMIT = 1024;
const oidCache = new Map<string, Buffer>();

function base128(value: bigint, out: number[]): void {
  const septets = [Number(value & 0x7fn)];
  for (let rest = value >> 7n; rest > 0n; rest >>= 7n) septets.push(Number(rest & 0x7fn) | 0x80);
  for (let i = septets.length - 1; i >= 0; i--) out.push(septets[i]);
}

/**
 * OBJECT IDENTIFIER from dotted text ("2.5.29.19"); encodings are cached, so repeated
 * constants cost one map lookup.
 * @throws InvalidInputError when the text is not a valid OID.
 */
export function objectIdentifier(dotted: string): Buffer {
  const cached = oidCache.get(dotted);
  if (cached) return cached;
  if (!OID_PATTERN.test(dotted)) throw new InvalidInputError(`"${dotted}" is not an object identifier`);
  const arcs = dotted.split('.').map((arc) => BigInt(arc));
  if (arcs[0] < 2n && arcs[1] >= 40n) throw new InvalidInputError(`"${dotted}" is not an object identifier`);
  const content: number[] = [];
  base128(arcs[0] * 40n + arcs[1], content);
  for (let i = 2; i < arcs.length; i++) base128(arcs[i], content);
  const encoded = tlv(Tag.OBJECT_IDENTIFIER, Uint8Array.from(content));
  if (oidCache.size < OID_CACHE_LIMIT) oidCache.set(dotted, encoded);
  return encoded;
}

const TRUE = Buffer.from([Tag.BOOLEAN, 1, 0xff]);
const FALSE = Buffer.from([Tag.BOOLEAN, 1, 0x00]);

/** BOOLEAN (DER: TRUE is 0xFF). */
export function boolean(value: boolean): Buffer {
  return value ? TRUE : FALSE;
}

/** The NULL value (05 00), e.g. for RSA AlgorithmIdentifier parameters. */
export const NULL_DER: Buffer = Buffer.from([Tag.NULL, 0]);

/**
 * BIT STRING from whole octets plus the count of unused trailing bits in the last one.
 * @throws InternalError when `unusedBits` is out of range or those bits are not zero (DER requires zero).
 */
export function bitString(bytes: Uint8Array, unusedBits = 0): Buffer {
  if (!Number.isInteger(unusedBits) || unusedBits < 0 || unusedBits > 7 || (bytes.length === 0 && unusedBits !== 0)) {
    throw new InternalError(`invalid BIT STRING unused-bit count ${unusedBits}`);
  }
  if (unusedBits && bytes[bytes.length - 1] & ((1 << unusedBits) - 1)) {
    throw new InternalError('BIT STRING unused bits must be zero in DER');
  }
  const length = bytes.length + 1;
  const out = Buffer.allocUnsafe(headerSize(length) + length);
  const offset = writeHeader(out, 0, Tag.BIT_STRING, length);
  out[offset] = unusedBits;
  out.set(bytes, offset + 1);
  return out;
}

/**
 * BIT STRING of a named-bit list (bit n set when `mask & (1 << n)`), DER-minimal:
 * trailing zero bits are dropped and counted as unused (X.690 11.2.2).
 * @throws InternalError when the mask is not a non-negative 31-bit integer.
 */
export function namedBitString(mask: number): Buffer {
  if (!Number.isInteger(mask) || mask < 0 || mask > 0x7fffffff) throw new InternalError(`invalid named-bit mask ${mask}`);
  if (mask === 0) return bitString(Buffer.alloc(0));
  const bitCount = 32 - Math.clz32(mask);
  const bytes = Buffer.alloc((bitCount + 7) >> 3);
  for (let bit = 0; bit < bitCount; bit++) {
    if (mask & (1 << bit)) bytes[bit >> 3] |= 0x80 >> (bit & 7);
  }
  return bitString(bytes, bytes.length * 8 - bitCount);
}

/** OCTET STRING around `content` (copied). */
export function octetString(content: Uint8Array): Buffer {
  return tlv(Tag.OCTET_STRING, content);
}

function stringTlv(tag: number, value: string, encoding: BufferEncoding): Buffer {
  const length = Buffer.byteLength(value, encoding);
  const out = Buffer.allocUnsafe(headerSize(length) + length);
  out.write(value, writeHeader(out, 0, tag, length), length, encoding);
  return out;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * UTF8String.
 * @throws InvalidInputError when the text holds a lone surrogate (it has no UTF-8 form).
 */
export function utf8String(value: string): Buffer {
  if (LONE_SURROGATE.test(value)) throw new InvalidInputError('text is not well-formed Unicode (lone surrogate)');
  return stringTlv(Tag.UTF8_STRING, value, 'utf8');
}

const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

/** Whether every character of `value` belongs to the PrintableString alphabet (X.680 41.4). */
export function isPrintableString(value: string): boolean {
  return PRINTABLE.test(value);
}

/**
 * PrintableString.
 * @throws InvalidInputError when a character is outside the PrintableString alphabet.
 */
export function printableString(value: string): Buffer {
  if (!PRINTABLE.test(value)) throw new InvalidInputError(`"${value}" has characters a PrintableString cannot hold`);
  return stringTlv(Tag.PRINTABLE_STRING, value, 'latin1');
}

const IA5 = /^\p{ASCII}*$/u;

/**
 * IA5String (7-bit ASCII), as used by dNSName and URIs.
 * @throws InvalidInputError for a non-ASCII character.
 */
export function ia5String(value: string): Buffer {
  if (!IA5.test(value)) throw new InvalidInputError(`"${value}" is not ASCII (IA5String)`);
  return stringTlv(Tag.IA5_STRING, value, 'latin1');
}

function checkedDate(date: Date): number {
  const ms = date instanceof Date ? date.getTime() : NaN;
  if (Number.isNaN(ms)) throw new InvalidInputError('invalid date');
  return ms;
}

function writeDigits(out: Buffer, offset: number, value: number, digits: number): number {
  for (let i = digits - 1; i >= 0; i--) {
    out[offset + i] = 0x30 + (value % 10);
    value = Math.floor(value / 10);
  }
  return offset + digits;
}

// Seconds precision with 'Z' (RFC 5280 4.1.2.5.1/4.1.2.5.2); milliseconds are truncated.
function encodeTime(date: Date, tag: number, yearDigits: 2 | 4): Buffer {
  const d = new Date(checkedDate(date));
  const length = yearDigits + 11;
  const out = Buffer.allocUnsafe(2 + length);
  out[0] = tag;
  out[1] = length;
  let offset = writeDigits(out, 2, d.getUTCFullYear() % (yearDigits === 2 ? 100 : 10000), yearDigits);
  offset = writeDigits(out, offset, d.getUTCMonth() + 1, 2);
  offset = writeDigits(out, offset, d.getUTCDate(), 2);
  offset = writeDigits(out, offset, d.getUTCHours(), 2);
  offset = writeDigits(out, offset, d.getUTCMinutes(), 2);
  offset = writeDigits(out, offset, d.getUTCSeconds(), 2);
  out[offset] = 0x5a; // 'Z'
  return out;
}

/**
 * UTCTime YYMMDDHHMMSSZ.
 * @throws InvalidInputError for an invalid date or a year outside 1950–2049 (UTCTime cannot say it).
 */
export function utcTime(date: Date): Buffer {
  const year = new Date(checkedDate(date)).getUTCFullYear();
  if (year < 1950 || year > 2049) throw new InvalidInputError(`year ${year} cannot be written as UTCTime`);
  return encodeTime(date, Tag.UTC_TIME, 2);
}

/**
 * GeneralizedTime YYYYMMDDHHMMSSZ.
 * @throws InvalidInputError for an invalid date or a year outside 0–9999.
 */
function generalizedTime(date: Date): Buffer {
  const year = new Date(checkedDate(date)).getUTCFullYear();
  if (year < 0 || year > 9999) throw new InvalidInputError(`year ${year} cannot be written as GeneralizedTime`);
  return encodeTime(date, Tag.GENERALIZED_TIME, 4);
}

/**
 * RFC 5280 Time: UTCTime for 1950–2049, GeneralizedTime otherwise (from 2050, and before 1950,
 * which UTCTime cannot express).
 * @throws InvalidInputError for an invalid date or a year beyond 9999.
 */
export function time(date: Date): Buffer {
  const year = new Date(checkedDate(date)).getUTCFullYear();
  return year >= 1950 && year <= 2049 ? encodeTime(date, Tag.UTC_TIME, 2) : generalizedTime(date);
}

function checkTagNumber(tagNumber: number): void {
  if (!Number.isInteger(tagNumber) || tagNumber < 0 || tagNumber > MAX_LOW_TAG_NUMBER) {
    throw new InternalError(`context tag [${tagNumber}] is not supported`);
  }
}

/**
 * [tagNumber] EXPLICIT: a constructed context-specific TLV wrapping the encoded `inner`.
 * @throws InternalError for a tag number above 30.
 */
export function explicit(tagNumber: number, inner: Uint8Array): Buffer {
  checkTagNumber(tagNumber);
  return constructed(CONTEXT_SPECIFIC | CONSTRUCTED | tagNumber, [inner]);
}

/**
 * [tagNumber] IMPLICIT: a copy of the encoded `encoded` TLV with its identifier replaced by the
 * context-specific tag (keeping its primitive/constructed bit).
 * @throws InternalError for a tag number above 30 or an input that is not a low-tag TLV.
 */
export function implicit(tagNumber: number, encoded: Uint8Array): Buffer {
  checkTagNumber(tagNumber);
  if (encoded.length < 2 || (encoded[0] & 0x1f) === 0x1f) throw new InternalError('implicit tagging needs an encoded low-tag TLV');
  const out = Buffer.from(encoded);
  out[0] = CONTEXT_SPECIFIC | (encoded[0] & CONSTRUCTED) | tagNumber;
  return out;
}
