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

/** Where the CA passphrase comes from: --passphrase-file, then CERTCTL_CA_PASSPHRASE. */
export interface PassphraseSource {
  /** The passphrase, or undefined when none was given. */
  get(): string | undefined;
}

/** inversify token of {@link PassphraseSource}. */
export const PassphraseSource = Symbol.for('certctl.PassphraseSource');

/** Builds the passphrase source from the flag and the environment; the file is read only when asked. */
export function passphraseSource(file: string | undefined, env: NodeJS.ProcessEnv): PassphraseSource {
  let cached: string | undefined;
  return {
    get() {
      if (cached !== undefined) return cached;
      if (file) cached = readSecretFile(file, '--passphrase-file');
      else if (env.CERTCTL_CA_PASSPHRASE) cached = env.CERTCTL_CA_PASSPHRASE;
      return cached;
    },
  };
}
