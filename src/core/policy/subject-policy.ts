import { ConfigError, PolicyError } from '../errors';
import { SUBJECT_ATTRIBUTES, SUBJECT_LABELS, checkSubjectValue, type SubjectAttributeName, type SubjectAttributes } from '../x509/subject';

/** The certctl.yaml keys of each subject attribute: values a request may ask for, and values always written. */
export const SUBJECT_KEYS: Readonly<Record<SubjectAttributeName, { allowed: string; fixed: string }>> = {
  C: { allowed: 'allowed_countries', fixed: 'country' },
  ST: { allowed: 'allowed_states', fixed: 'state' },
  L: { allowed: 'allowed_localities', fixed: 'locality' },
  O: { allowed: 'allowed_organizations', fixed: 'organization' },
  OU: { allowed: 'allowed_organizational_units', fixed: 'organizational_unit' },
  serialNumber: { allowed: 'allowed_serial_numbers', fixed: 'serial_number' },
};

/** One attribute's policy: the patterns a request may use (absent: none taken from a request) and the values always written. */
export interface AttributePolicy {
  allowed?: string[];
  fixed: string[];
}

/** A profile's subject policy, per attribute. */
export type SubjectPolicy = Record<SubjectAttributeName, AttributePolicy>;

/**
 * Reads the subject keys of one profile of certctl.yaml.
 * @throws ConfigError naming the path of a value the attribute cannot hold.
 */
export function buildSubjectPolicy(config: Record<string, unknown>, path: string): SubjectPolicy {
  const out = {} as SubjectPolicy;
  for (const type of SUBJECT_ATTRIBUTES) {
    const keys = SUBJECT_KEYS[type];
    const allowed = config[keys.allowed] as string[] | undefined;
    const fixed = config[keys.fixed] as string[] | undefined;
    fixed?.forEach((value, i) => {
      try {
        checkSubjectValue(type, value, `${path}.${keys.fixed}[${i}]`);
      } catch (err) {
        throw new ConfigError((err as Error).message, { cause: err });
      }
    });
    if (type === 'serialNumber' && fixed && fixed.length > 1) throw new ConfigError(`${path}.${keys.fixed}: a subject has at most one serialNumber`);
    out[type] = { allowed, fixed: fixed ?? [] };
  }
  return out;
}

/** `*` matches any run of characters (as Vault's role globs); anything else matches itself. */
export function globMatches(pattern: string, value: string): boolean {
  if (!pattern.includes('*')) return pattern === value;
  const re = new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}$`, 's');
  return re.test(value);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The subject attributes to write, and what a CSR asked for that the profile does not take. */
export interface CheckedSubject {
  subject: SubjectAttributes;
  /** Attributes a CSR carried that the profile does not take (dropped, with a warning). */
  ignored: string[];
}

/**
 * Checks requested subject attributes against a profile: where `profiles.<name>.allowed_<attribute>`
 * lists patterns, every requested value must match one; where it says nothing, a CSR's values are
 * dropped (reported in `ignored`) and a flag's are refused. The profile's fixed values come first.
 * @param fromCsr the request is a CSR (drop what the profile does not take) rather than flags (refuse it).
 * @throws InvalidInputError for a value over its RFC 5280 bound or malformed; PolicyError naming the
 *   attribute and the profile key for a value the policy does not allow.
 */
export function checkSubject(profileName: string, policy: SubjectPolicy, requested: SubjectAttributes, fromCsr: boolean, source: string): CheckedSubject {
  const subject: SubjectAttributes = {};
  const ignored: string[] = [];
  for (const type of SUBJECT_ATTRIBUTES) {
    const { allowed, fixed } = policy[type];
    const asked = requested[type] ?? [];
    const key = `profiles.${profileName}.${SUBJECT_KEYS[type].allowed}`;
    asked.forEach((value) => checkSubjectValue(type, value, source));
    if (asked.length && !allowed) {
      if (fromCsr) {
        ignored.push(`subject ${type}`);
        continue;
      }
      throw new PolicyError(
        `${source}: ${SUBJECT_LABELS[type]} is not taken from requests for profile ${profileName}; allow values with ${key} in certctl.yaml`,
      );
    }
    for (const value of asked) {
      if (!allowed?.some((pattern) => globMatches(pattern, value))) {
        throw new PolicyError(`${source}: ${SUBJECT_LABELS[type]} "${value}" is not allowed by ${key} (${(allowed ?? []).join(', ')})`);
      }
    }
    const values = [...fixed, ...asked].filter((v, i, all) => all.indexOf(v) === i);
    if (type === 'serialNumber' && values.length > 1) {
      throw new PolicyError(`${source}: a subject has at most one serialNumber; got ${values.map((v) => `"${v}"`).join(', ')}`);
    }
    if (values.length) subject[type] = values;
  }
  return { subject, ignored };
}
