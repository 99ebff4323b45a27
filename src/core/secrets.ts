import { readFileSync } from 'node:fs';
import { InvalidInputError } from './errors';

/**
 * Reads a secret (passphrase, password) from the first line of a file, as
 * `openssl -passin file:` does, so one file works for both tools.
 * Secrets come from files or environment variables, never from a flag's value.
 * @throws InvalidInputError naming the file (never its contents) when unreadable or empty.
 */
export function readSecretFile(path: string, what: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new InvalidInputError(`${what}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'}); give a readable file`, { cause: err });
  }
  const value = text.split(/\r?\n/)[0];
  if (value.length === 0) throw new InvalidInputError(`${what}: ${path} is empty; put the secret in the file`);
  return value;
}

/** A secret given by a file flag or an environment variable, read only when asked. */
export interface SecretSource {
  /** The secret, or undefined when neither the file nor the variable was given. */
  get(): string | undefined;
}

/**
 * The one way certctl takes a secret from the command line: the first line of `file` (named
 * `flag` in messages) when given, else the variable `envName`. The file is read on the first
 * `get()` only, and once.
 * @throws (from get) InvalidInputError when the file is unreadable or empty.
 */
export function secretSource(file: string | undefined, flag: string, envName: string, env: NodeJS.ProcessEnv): SecretSource {
  let cached: string | undefined;
  return {
    get() {
      if (cached !== undefined) return cached;
      if (file) cached = readSecretFile(file, flag);
      else if (env[envName]) cached = env[envName];
      return cached;
    },
  };
}

/** Where the CA passphrase comes from: --passphrase-file, then CERTCTL_CA_PASSPHRASE. */
export type PassphraseSource = SecretSource;

/** inversify token of {@link PassphraseSource}. */
export const PassphraseSource = Symbol.for('certctl.PassphraseSource');

/** The CA passphrase source from --passphrase-file and the environment; the file is read only when asked. */
export function passphraseSource(file: string | undefined, env: NodeJS.ProcessEnv): PassphraseSource {
  return secretSource(file, '--passphrase-file', 'CERTCTL_CA_PASSPHRASE', env);
}
