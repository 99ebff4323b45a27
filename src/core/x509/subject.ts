/**
 * The subject Name of the leaves certctl issues, written as `openssl req -subj` writes it: one
 * attribute per RDN, in the order C, ST, L, O, OU, CN, serialNumber; countryName and serialNumber
 * as PrintableString (their ASN.1 type), every other attribute as UTF8String (OpenSSL's default
 * `string_mask = utf8only`, and RFC 5280 4.1.2.4's choice for new certificates). CA names keep
 * fields.ts's encodeName, so the issuer names of existing chains do not change.
 */
import { InvalidInputError } from '../errors';
import { isPrintableString, objectIdentifier, printableString, sequence, setOf, utf8String } from './der';

/** The subject attributes besides CN that a profile may let a request set (certctl.yaml `allowed_*`). */
export const SUBJECT_ATTRIBUTES = ['C', 'ST', 'L', 'O', 'OU', 'serialNumber'] as const;
export type SubjectAttributeName = (typeof SUBJECT_ATTRIBUTES)[number];

/** Subject attributes besides CN, each with its values in the order they are written. */
export type SubjectAttributes = Partial<Record<SubjectAttributeName, string[]>>;

const OIDS: Readonly<Record<SubjectAttributeName | 'CN', string>> = {
  C: '2.5.4.6',
  ST: '2.5.4.8',
  L: '2.5.4.7',
  O: '2.5.4.10',
  OU: '2.5.4.11',
  CN: '2.5.4.3',
  serialNumber: '2.5.4.5',
};

/** RFC 5280 Appendix A upper bounds, in characters (ub-common-name … ub-serial-number). */
export const SUBJECT_UPPER_BOUNDS: Readonly<Record<SubjectAttributeName | 'CN', number>> = {
  C: 2,
  ST: 128,
  L: 128,
  O: 64,
  OU: 64,
  CN: 64,
  serialNumber: 64,
};

/** What each attribute is called in messages. */
export const SUBJECT_LABELS: Readonly<Record<SubjectAttributeName, string>> = {
  C: 'subject C (country)',
  ST: 'subject ST (state or province)',
  L: 'subject L (locality)',
  O: 'subject O (organization)',
  OU: 'subject OU (organizational unit)',
  serialNumber: 'subject serialNumber',
};

/**
 * Checks one attribute value against its syntax and RFC 5280 upper bound.
 * @throws InvalidInputError naming `field` (a flag, a CSR or a config path) and the limit.
 */
export function checkSubjectValue(type: SubjectAttributeName | 'CN', value: string, field: string): void {
  const chars = [...value].length;
  const what = type === 'CN' ? 'subject CN' : SUBJECT_LABELS[type];
  if (type === 'C') {
    if (!/^[A-Z]{2}$/.test(value)) throw new InvalidInputError(`${field}: ${what} "${value}" must be a two-letter ISO 3166 code in upper case, e.g. US`);
    return;
  }
  if (chars === 0 || chars > SUBJECT_UPPER_BOUNDS[type]) {
    throw new InvalidInputError(`${field}: ${what} must be 1 to ${SUBJECT_UPPER_BOUNDS[type]} characters (RFC 5280), got ${chars}`);
  }
  if ([...value].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f))
    throw new InvalidInputError(`${field}: ${what} "${value}" contains a control character`);
  if (type === 'serialNumber' && !isPrintableString(value)) {
    throw new InvalidInputError(`${field}: ${what} "${value}" must use only PrintableString characters (letters, digits, space and '()+,-./:=?)`);
  }
}

/**
 * The subject Name DER (see the file comment for order and encoding); `encodeSubject('', {})` is the empty name.
 * @throws InvalidInputError for a value {@link checkSubjectValue} refuses.
 */
export function encodeSubject(commonName: string, attrs: SubjectAttributes = {}): Buffer {
  const rdns: Buffer[] = [];
  const add = (type: SubjectAttributeName | 'CN', value: string) => {
    checkSubjectValue(type, value, 'subject');
    const encoded = type === 'C' || type === 'serialNumber' ? printableString(value) : utf8String(value);
    rdns.push(setOf([sequence([objectIdentifier(OIDS[type]), encoded])]));
  };
  for (const type of ['C', 'ST', 'L', 'O', 'OU'] as const) for (const value of attrs[type] ?? []) add(type, value);
  if (commonName) add('CN', commonName);
  for (const value of attrs.serialNumber ?? []) add('serialNumber', value);
  return sequence(rdns);
}

/** The OID of an attribute, for readers that compare names (signed-check.ts). */
export function subjectAttributeOid(type: SubjectAttributeName | 'CN'): string {
  return OIDS[type];
}
