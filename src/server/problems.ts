import type { FastifyError, FastifyReply } from 'fastify';
import { CertctlError, InternalError, InvalidInputError, toCertctlError, type ErrorCode } from '../core/errors';

/** The HTTP status of each error kind: the one place the server maps the core's errors. */
export const HTTP_STATUS: Readonly<Record<ErrorCode, number>> = {
  internal: 500,
  invalid_input: 400,
  // The server's own configuration is wrong: the caller cannot fix it, and retrying will not help.
  invalid_config: 500,
  not_found: 404,
  policy_violation: 403,
  backend_unavailable: 503,
  // The server's credentials to its backend were refused: not the caller's fault, and an operator must act.
  backend_auth: 503,
  conflict: 409,
  not_supported: 400,
  unauthorized: 401,
};

/** An RFC 9457 problem document; `code` is the CLI's error code for the same failure. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  instance?: string;
}

/** The problem `type` URI of an error code. */
export function problemType(code: ErrorCode): string {
  return `urn:certctl:problem:${code}`;
}

/** An error with an HTTP status fixed by the server (413, 429), still reported with a CLI error code. */
export class HttpProblem extends CertctlError {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Fastify's own errors (body too large, bad JSON, schema validation) as certctl errors with their status. */
function fromFastify(err: FastifyError): { error: CertctlError; status: number } | undefined {
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return {
      error: new InvalidInputError('the request body is larger than the server accepts (serve.limits.body_bytes; an OCSP request: 16 KiB)'),
      status: 413,
    };
  }
  if (err.validation)
    return {
      error: new InvalidInputError(`the request ${err.validationContext ?? 'body'} ${err.message.replace(/^(body|querystring|params) ?/, '')}`),
      status: 400,
    };
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    return { error: new InvalidInputError(err.message), status: err.statusCode };
  }
  return undefined;
}

/** Turns anything thrown in a handler into a status and a problem document (no stack, no cause text). */
export function toProblem(err: unknown, instance?: string): Problem {
  const mapped = err instanceof CertctlError ? undefined : fromFastify(err as FastifyError);
  const error = mapped?.error ?? (err instanceof CertctlError ? err : toCertctlError(err));
  const status = mapped?.status ?? (error instanceof HttpProblem ? error.status : HTTP_STATUS[error.code]);
  // An unexpected error's message may carry internals (paths, backend replies): the log has it, the caller does not.
  const detail = error instanceof InternalError ? 'internal error; the server log has the details under this request id' : error.message;
  return { type: problemType(error.code), title: error.code.replace(/_/g, ' '), status, detail, code: error.code, ...(instance ? { instance } : {}) };
}

/** Sends a problem document as `application/problem+json`. */
export function sendProblem(problem: Problem, reply: FastifyReply): FastifyReply {
  return reply.code(problem.status).type('application/problem+json').send(problem);
}

/** What the request's log line keeps of a failure: code, kind and message (messages never hold secrets), and the cause's. */
export interface FailureLog {
  code: ErrorCode;
  kind: string;
  message: string;
  cause?: string;
}

/** The {@link FailureLog} of an error. */
export function describeFailure(err: unknown, code: ErrorCode): FailureLog {
  const e = err instanceof Error ? err : new InternalError(String(err));
  const cause = e.cause instanceof Error ? `${e.cause.name}: ${e.cause.message}` : undefined;
  return { code, kind: e.name, message: e.message, ...(cause ? { cause } : {}) };
}
