import { InvalidInputError } from '../core/errors';
import type { CertificateRecord } from '../core/types';

/** Placeholders of `renew --out-template`; {serial} is the serial being renewed (as `check` lists it). */
export const OUT_TEMPLATE_PLACEHOLDERS = ['cn', 'serial', 'profile'] as const;
type Placeholder = (typeof OUT_TEMPLATE_PLACEHOLDERS)[number];

/** A parsed --out-template: expands to one output directory per certificate. */
export interface OutTemplate {
  text: string;
  /**
   * The directory for one certificate.
   * @throws InvalidInputError when a value cannot be one path segment (an empty CN, `..`, a slash).
   */
  expand(record: CertificateRecord): string;
}

/**
 * Parses --out-template: literal text and `{cn}`, `{serial}`, `{profile}`.
 * @throws InvalidInputError naming --out-template for an unknown placeholder or a stray brace.
 */
export function parseOutTemplate(text: string): OutTemplate {
  if (!text.trim()) throw new InvalidInputError('--out-template is empty; write e.g. certs/{cn}/');
  const parts = text.split(/(\{[^{}]*\})/);
  for (const part of parts) {
    const m = /^\{(.*)\}$/.exec(part);
    if (m && !OUT_TEMPLATE_PLACEHOLDERS.includes(m[1] as Placeholder)) {
      throw new InvalidInputError(`--out-template: unknown placeholder {${m[1]}}; use ${OUT_TEMPLATE_PLACEHOLDERS.map((p) => `{${p}}`).join(', ')}`);
    }
    if (!m && /[{}]/.test(part)) throw new InvalidInputError(`--out-template "${text}": unbalanced brace; placeholders are written {cn}`);
  }
  return {
    text,
    expand(record) {
      return parts
        .map((part) => {
          const m = /^\{(.*)\}$/.exec(part);
          return m ? segment(m[1] as Placeholder, valueOf(m[1] as Placeholder, record), record.serial) : part;
        })
        .join('');
    },
  };
}

function valueOf(name: Placeholder, r: CertificateRecord): string {
  return name === 'cn' ? r.commonName : name === 'serial' ? r.serial : r.profile;
}

/**
 * A value placed in a path must stay one directory name. A CN that cannot be one (empty, `.`/`..`,
 * a slash, a control character) is refused rather than replaced by the serial: deployment
 * scripts look for certs/{cn}/, and a renewal written elsewhere would look done while the
 * service kept its expiring certificate.
 */
function segment(name: Placeholder, value: string, serial: string): string {
  if (value === '' || value === '.' || value === '..' || /[/\\\p{Cc}]/u.test(value)) {
    const shown = value === '' ? 'is empty' : `"${value.replace(/\p{Cc}/gu, '?')}" cannot be a directory name`;
    throw new InvalidInputError(
      `serial ${serial}: {${name}} ${shown}; put {serial} in --out-template, or renew it alone with \`certctl renew ${serial} --out DIR\``,
    );
  }
  return value;
}
