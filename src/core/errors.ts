/**
 * certctl's error kinds. Each kind has a stable string code and one exit code
 * (DESIGN.md "Errors and exit codes"). Backends translate native errors at their
 * boundary into one of these and keep the original as `cause`.
 *
 * Messages must never contain key material, passphrases or tokens.
 */
export type ErrorCode =
  | 'internal'
  | 'invalid_input'
  | 'invalid_config'
  | 'not_found'
  | 'policy_violation'
  | 'backend_unavailable'
  | 'backend_auth'
  | 'conflict'
  | 'not_supported'
  | 'unauthorized';

export const EXIT_CODES: Readonly<Record<ErrorCode, number>> = {
  internal: 1,
  invalid_input: 2,
  invalid_config: 3,
  not_found: 4,
  policy_violation: 5,
  backend_unavailable: 6,
  backend_auth: 7,
  conflict: 8,
  not_supported: 9,
  // Credentials refused, as backend_auth: a client of `certctl serve` whose token or certificate the server refused.
  unauthorized: 7,
};

/** Base class of every error certctl reports on purpose. */
export abstract class CertctlError extends Error {
  abstract readonly code: ErrorCode;
  /** Whether repeating the same operation later can succeed. */
  readonly retryable: boolean = false;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }

  get exitCode(): number {
    return EXIT_CODES[this.code];
  }
}

/** A bug or an unexpected state: exit 1. */
export class InternalError extends CertctlError {
  readonly code = 'internal' as const;
}

/** The user's input (flags, CSR, PEM, passphrase) is malformed or wrong: exit 2. */
export class InvalidInputError extends CertctlError {
  readonly code = 'invalid_input' as const;
}

/** certctl.yaml or the environment is invalid; the message names the config path: exit 3. */
export class ConfigError extends CertctlError {
  readonly code = 'invalid_config' as const;
}

/** A CA, serial or object does not exist: exit 4. */
export class NotFoundError extends CertctlError {
  readonly code = 'not_found' as const;
}

/** The request is well-formed but the CA's policy refuses it: exit 5. */
export class PolicyError extends CertctlError {
  readonly code = 'policy_violation' as const;
}

/** The backend cannot be reached or is not ready (sealed, down, timeout); retry may help: exit 6. */
export class BackendUnavailableError extends CertctlError {
  readonly code = 'backend_unavailable' as const;
  override readonly retryable = true;
}

/** The backend refused our credentials or permissions: exit 7. */
export class BackendAuthError extends CertctlError {
  readonly code = 'backend_auth' as const;
}

/** The object already exists, or a concurrent writer changed it first: exit 8. */
export class ConflictError extends CertctlError {
  readonly code = 'conflict' as const;
}

/** The chosen backend or command cannot do this: exit 9. */
export class NotSupportedError extends CertctlError {
  readonly code = 'not_supported' as const;
}

/**
 * The caller of `certctl serve` did not prove who it is (no or a refused client certificate, a bad,
 * expired or used token, a refused Keystone token): HTTP 401, exit 7 for the CLI client that got it.
 */
export class UnauthorizedError extends CertctlError {
  readonly code = 'unauthorized' as const;
}

const KINDS: Readonly<Record<ErrorCode, new (message: string, options?: { cause?: unknown }) => CertctlError>> = {
  internal: InternalError,
  invalid_input: InvalidInputError,
  invalid_config: ConfigError,
  not_found: NotFoundError,
  policy_violation: PolicyError,
  backend_unavailable: BackendUnavailableError,
  backend_auth: BackendAuthError,
  conflict: ConflictError,
  not_supported: NotSupportedError,
  unauthorized: UnauthorizedError,
};

/**
 * The error kind of a code another certctl reported (a problem document of `certctl serve`), so a
 * client exits as the server's CLI would have; an unknown code is an InternalError.
 */
export function errorForCode(code: string, message: string): CertctlError {
  const Kind = (KINDS as Record<string, (typeof KINDS)[ErrorCode] | undefined>)[code] ?? InternalError;
  return new Kind(message);
}

/** Wraps anything thrown into a CertctlError, keeping the original as `cause`. */
export function toCertctlError(err: unknown): CertctlError {
  if (err instanceof CertctlError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new InternalError(`unexpected error: ${message}`, { cause: err });
}

/**
 * The same kind of error (so the exit code still says whether a retry helps) with a message that
 * says where and what is left; any other error becomes an InternalError. The original is the cause.
 */
export function withContext(err: unknown, message: string): CertctlError {
  if (err instanceof CertctlError) {
    const Kind = err.constructor as new (m: string, o?: { cause?: unknown }) => CertctlError;
    return new Kind(message, { cause: err });
  }
  return new InternalError(message, { cause: err });
}
