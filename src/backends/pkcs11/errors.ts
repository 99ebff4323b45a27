import { BackendAuthError, BackendUnavailableError, CertctlError, InternalError, NotSupportedError } from '../../core/errors';

// Cryptoki return values (PKCS#11 v2.40 section 5.1), grouped by what they mean to the operator.
const PIN_REFUSED = new Set([0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0x101, 0x102, 0x103]); // PIN_INCORRECT…PIN_LOCKED, USER_NOT_LOGGED_IN, USER_PIN_NOT_INITIALIZED
const UNAVAILABLE = new Set([
  0x05, // GENERAL_ERROR
  0x06, // FUNCTION_FAILED
  0x30, // DEVICE_ERROR
  0x31, // DEVICE_MEMORY
  0x32, // DEVICE_REMOVED
  0x60, // KEY_HANDLE_INVALID: the key vanished with its token
  0x82, // OBJECT_HANDLE_INVALID
  0xb0, // SESSION_CLOSED
  0xb1, // SESSION_COUNT: the token's session limit is reached
  0xb3, // SESSION_HANDLE_INVALID
  0xe0, // TOKEN_NOT_PRESENT
  0xe1, // TOKEN_NOT_RECOGNIZED
]);
const NOT_SUPPORTED = new Set([
  0x54, // FUNCTION_NOT_SUPPORTED
  0x63, // KEY_TYPE_INCONSISTENT
  0x68, // KEY_FUNCTION_NOT_PERMITTED
  0x70, // MECHANISM_INVALID
  0x71, // MECHANISM_PARAM_INVALID
  0x12, // ATTRIBUTE_TYPE_INVALID
  0x13, // ATTRIBUTE_VALUE_INVALID
  0xd0, // TEMPLATE_INCOMPLETE
  0xd1, // TEMPLATE_INCONSISTENT
  0xe2, // TOKEN_WRITE_PROTECTED
]);

/** The Cryptoki return value of a pkcs11js error, or undefined for anything else. */
export function cryptokiCode(err: unknown): number | undefined {
  const e = err as { name?: unknown; code?: unknown };
  return e && e.name === 'Pkcs11Error' && typeof e.code === 'number' ? e.code : undefined;
}

/** The CKR_… name pkcs11js gives an error, for messages (it names a return value, never data). */
function cryptokiName(err: unknown, code: number | undefined): string {
  const message = err instanceof Error ? err.message : '';
  return /^CKR_[A-Z0-9_]+$/.test(message) ? message : code === undefined ? 'a native error' : `CKR 0x${code.toString(16)}`;
}

/**
 * Translates what a PKCS#11 call threw into certctl's error kinds, at the library boundary:
 * a refused PIN → BackendAuthError (exit 7) naming the token and where the PIN came from; a
 * token gone or broken → BackendUnavailableError (exit 6, retryable); a mechanism or template
 * the token does not take → NotSupportedError (exit 9); anything else → InternalError. The
 * original is the cause; no PIN or key material is in any message.
 * @param doing what certctl was doing, e.g. `signing with key "certctl-default"`.
 */
export function tokenError(err: unknown, token: string, doing: string, pinOrigin?: string): CertctlError {
  if (err instanceof CertctlError) return err;
  const code = cryptokiCode(err);
  const name = cryptokiName(err, code);
  const where = `PKCS#11 token "${token}"`;
  if (code !== undefined && PIN_REFUSED.has(code)) {
    return new BackendAuthError(`${where} refused the user PIN${pinOrigin ? ` from ${pinOrigin}` : ''} (${name}); check the PIN`, { cause: err });
  }
  if (code !== undefined && UNAVAILABLE.has(code)) {
    return new BackendUnavailableError(
      `${where} became unavailable while ${doing} (${name}); check that it is plugged in and reachable, then run the command again`,
      { cause: err },
    );
  }
  if (code !== undefined && NOT_SUPPORTED.has(code)) {
    return new NotSupportedError(`${where} cannot do this while ${doing} (${name})`, { cause: err });
  }
  return new InternalError(`${where}: unexpected ${name} while ${doing}`, { cause: err });
}
