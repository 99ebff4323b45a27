import { CertctlError, type ErrorCode } from '../core/errors';

/** RFC 8555 §6.7 error types (and RFC 9773's alreadyReplaced, the profiles draft's invalidProfile) certctl answers with. */
export type AcmeErrorType =
  | 'accountDoesNotExist'
  | 'alreadyReplaced'
  | 'alreadyRevoked'
  | 'badCSR'
  | 'badNonce'
  | 'badPublicKey'
  | 'badRevocationReason'
  | 'badSignatureAlgorithm'
  | 'externalAccountRequired'
  | 'invalidContact'
  | 'invalidProfile'
  | 'malformed'
  | 'orderNotReady'
  | 'rateLimited'
  | 'rejectedIdentifier'
  | 'serverInternal'
  | 'unauthorized'
  | 'unsupportedContact'
  | 'unsupportedIdentifier'
  | 'userActionRequired'
  | 'connection'
  | 'dns'
  | 'incorrectResponse'
  | 'tls';

/** The CLI error kind each ACME error is logged and counted as. */
const CODES: Partial<Record<AcmeErrorType, ErrorCode>> = {
  accountDoesNotExist: 'not_found',
  alreadyReplaced: 'conflict',
  alreadyRevoked: 'conflict',
  badCSR: 'policy_violation',
  rejectedIdentifier: 'policy_violation',
  unauthorized: 'unauthorized',
  badNonce: 'unauthorized',
  serverInternal: 'internal',
  rateLimited: 'backend_unavailable',
  orderNotReady: 'conflict',
  externalAccountRequired: 'unauthorized',
};

const STATUS: Partial<Record<AcmeErrorType, number>> = {
  accountDoesNotExist: 400,
  unauthorized: 403,
  orderNotReady: 403,
  rateLimited: 429,
  serverInternal: 500,
  externalAccountRequired: 400,
  alreadyRevoked: 400,
};

/** An ACME problem (RFC 8555 §6.7): type, HTTP status, detail; `code` is the CLI error kind it counts as. */
export class AcmeError extends CertctlError {
  readonly code: ErrorCode;
  readonly status: number;

  constructor(
    readonly acmeType: AcmeErrorType,
    message: string,
    options: { status?: number; cause?: unknown; headers?: Record<string, string> } = {},
  ) {
    super(message, { cause: options.cause });
    this.code = CODES[acmeType] ?? 'invalid_input';
    this.status = options.status ?? STATUS[acmeType] ?? 400;
    this.headers = options.headers ?? {};
  }

  readonly headers: Record<string, string>;

  /** The problem document. */
  toJSON(): { type: string; detail: string; status: number } {
    return { type: `urn:ietf:params:acme:error:${this.acmeType}`, detail: this.message, status: this.status };
  }
}

/**
 * Any error of a handler as an ACME problem: certctl's own kinds mapped to the nearest ACME type
 * (`policyAs`: what a policy refusal means where it happened — rejectedIdentifier for a new order,
 * badCSR at finalize); unexpected errors are serverInternal without their text.
 */
export function toAcmeError(err: unknown, policyAs: AcmeErrorType = 'rejectedIdentifier'): AcmeError {
  if (err instanceof AcmeError) return err;
  if (err instanceof CertctlError) {
    const byCode: Record<ErrorCode, [AcmeErrorType, number]> = {
      internal: ['serverInternal', 500],
      invalid_input: ['malformed', 400],
      invalid_config: ['serverInternal', 500],
      not_found: ['malformed', 404],
      policy_violation: [policyAs, 400],
      backend_unavailable: ['serverInternal', 503],
      backend_auth: ['serverInternal', 503],
      conflict: ['malformed', 409],
      not_supported: ['malformed', 400],
      unauthorized: ['unauthorized', 403],
    };
    const [type, status] = byCode[err.code];
    const detail = err.code === 'internal' ? 'internal error; the server log has the details' : err.message;
    return new AcmeError(type, detail, { status, cause: err });
  }
  return new AcmeError('serverInternal', 'internal error; the server log has the details', { status: 500, cause: err });
}
