import { isAbsolute, resolve } from 'node:path';
import * as z from 'zod/mini';
import { parseSection, type ResolvedConfig } from '../../core/config/load';
import { ConfigError } from '../../core/errors';
import { readSecretFile } from '../../core/secrets';

/** The `pkcs11:` section after defaults, environment and validation. The PIN itself is read only at login. */
export interface Pkcs11Options {
  /** Absolute path of the vendor's PKCS#11 library (`pkcs11.module`). */
  module: string;
  /** Label of the token holding the CA keys (`pkcs11.token_label`). */
  tokenLabel: string;
  /** The label of a CA's key: `pkcs11.key_label` with `{ca}` replaced, default `certctl-<ca>`. */
  keyLabel(ca: string): string;
  /** Where the PIN comes from, for messages: `CERTCTL_PKCS11_PIN` or the pin_file path. */
  pinOrigin: string;
  /**
   * The user PIN, read when the token is logged in to (never kept in the options, never in a message).
   * @throws InvalidInputError naming the file (not its contents) when it is unreadable or empty.
   */
  pin(): string;
}

/** inversify token of {@link Pkcs11Options}. */
export const Pkcs11Options = Symbol.for('certctl.pkcs11.Pkcs11Options');

const text = z.string().check(z.minLength(1, 'expected a non-empty string'));
const optionsSchema = z.strictObject({
  module: z.optional(text),
  token_label: z.optional(z.string().check(z.minLength(1, 'expected a token label'), z.maxLength(32, 'a token label has at most 32 characters'))),
  pin_file: z.optional(text),
  key_label: z.optional(text),
});

/**
 * Parses `pkcs11:`: `module` and `token_label` are required; the PIN comes from
 * CERTCTL_PKCS11_PIN, else the first line of `pin_file` (never from a flag or the YAML itself);
 * `key_label` defaults to `certctl-{ca}`. Relative paths are relative to the config file.
 * @throws ConfigError naming `pkcs11.<key>` and what to set.
 */
export function parsePkcs11Options(config: ResolvedConfig): Pkcs11Options {
  const o = parseSection(config, 'pkcs11', optionsSchema);
  const file = (p: string) => (isAbsolute(p) ? p : resolve(config.baseDir, p));
  if (!o.module) throw new ConfigError('pkcs11.module: which PKCS#11 library? Set it to the vendor module, e.g. /usr/lib/softhsm/libsofthsm2.so');
  if (!o.token_label) throw new ConfigError('pkcs11.token_label: which token holds the CA keys? Set its label');
  const envPin = config.env.CERTCTL_PKCS11_PIN;
  if (!envPin && !o.pin_file)
    throw new ConfigError('pkcs11.pin_file: the token needs its user PIN; point pin_file at a file holding it, or set CERTCTL_PKCS11_PIN');
  const pinFile = o.pin_file ? file(o.pin_file) : undefined;
  const template = o.key_label ?? 'certctl-{ca}';
  return {
    // A bare file name is left to the dynamic loader's search path, as the vendor's docs put it.
    module: o.module.includes('/') ? file(o.module) : o.module,
    tokenLabel: o.token_label,
    keyLabel: (ca) => template.replaceAll('{ca}', ca),
    pinOrigin: envPin ? 'CERTCTL_PKCS11_PIN' : `pkcs11.pin_file (${pinFile})`,
    pin: () => (envPin ? envPin : readSecretFile(pinFile as string, 'pkcs11.pin_file')),
  };
}
