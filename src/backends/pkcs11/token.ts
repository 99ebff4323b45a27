import { existsSync } from 'node:fs';
import type * as Pkcs11Js from 'pkcs11js';
import { ConfigError } from '../../core/errors';
import { cryptokiCode, tokenError } from './errors';
import type { Pkcs11Options } from './options';

/** A PKCS#11 object handle (pkcs11js hands them out as Buffers). */
export type ObjectHandle = Pkcs11Js.Handle;
/** Attribute templates as pkcs11js takes them. */
export type Template = Pkcs11Js.Template;

/** The pkcs11js module: constants and the PKCS11 class; required on first use (it is a native addon). */
export type Pkcs11Lib = typeof Pkcs11Js;

const CKR_CRYPTOKI_ALREADY_INITIALIZED = 0x191;
const CKR_USER_ALREADY_LOGGED_IN = 0x100;

/** A library loaded and initialised once per process (C_Initialize may run only once per process). */
const libraries = new Map<string, Pkcs11Js.PKCS11>();
/** One logged-in session per token per process, shared by every container of the process. */
const sessions = new Map<string, Session>();

interface Session {
  pkcs11: Pkcs11Js.PKCS11;
  handle: ObjectHandle;
  mechanisms: Set<number>;
}

/** The pkcs11js module, required here so that only commands that use a token load the native addon. */
export function pkcs11js(): Pkcs11Lib {
  return require('pkcs11js') as Pkcs11Lib;
}

/**
 * One token of one PKCS#11 library, as configured in `pkcs11:`. The process logs in once and
 * reuses one session for every call: calls are synchronous on Node's one thread, so there is at
 * most one operation in flight per process, within any token's session and concurrency limits.
 * Every Cryptoki error is translated here (errors.ts); after a failure because the token went
 * away, the next call re-initialises the library and finds the token again once it is back.
 */
export class Pkcs11Token {
  readonly lib: Pkcs11Lib = pkcs11js();

  constructor(private readonly options: Pkcs11Options) {}

  /** The token's label, for messages. */
  get label(): string {
    return this.options.tokenLabel;
  }

  /**
   * Runs `fn` on the logged-in session, translating what it throws.
   * @throws ConfigError (module or token not found), BackendAuthError (PIN refused),
   *   BackendUnavailableError (token gone), NotSupportedError, InternalError.
   */
  run<T>(doing: string, fn: (pkcs11: Pkcs11Js.PKCS11, session: ObjectHandle) => T): T {
    const s = this.session();
    try {
      return fn(s.pkcs11, s.handle);
    } catch (err) {
      const translated = tokenError(err, this.label, doing);
      if (translated.retryable) this.forgetLibrary();
      throw translated;
    }
  }

  /** Whether the token offers a mechanism (C_GetMechanismList, read once per session). */
  offers(mechanism: number): boolean {
    return this.session().mechanisms.has(mechanism);
  }

  /** Private or public key objects matching `template` (C_FindObjects). */
  find(template: Template, doing: string): ObjectHandle[] {
    return this.run(doing, (p, s) => {
      p.C_FindObjectsInit(s, template);
      try {
        const found: ObjectHandle[] = [];
        for (let batch = p.C_FindObjects(s, 16); batch.length; batch = p.C_FindObjects(s, 16)) found.push(...batch);
        return found;
      } finally {
        p.C_FindObjectsFinal(s);
      }
    });
  }

  /** Attribute values of one object, by type. */
  attributes(object: ObjectHandle, types: number[], doing: string): Map<number, Buffer> {
    return this.run(doing, (p, s) => {
      const result = p.C_GetAttributeValue(
        s,
        object,
        types.map((type) => ({ type })),
      );
      return new Map(result.map((a) => [a.type, a.value]));
    });
  }

  /** Signs `data` in one part (C_SignInit + C_Sign) into a buffer of `maxLength` bytes. */
  sign(key: ObjectHandle, mechanism: number, data: Buffer, maxLength: number, doing: string): Buffer {
    return this.run(doing, (p, s) => {
      p.C_SignInit(s, { mechanism }, key);
      return p.C_Sign(s, data, Buffer.alloc(maxLength));
    });
  }

  /**
   * After the token went away: drops the library's sessions and finalises it, so the next call
   * initialises afresh and finds the token again once it is back (a library keeps a removed
   * token's slot broken until it is re-initialised).
   */
  private forgetLibrary(): void {
    const path = this.options.module;
    for (const key of [...sessions.keys()]) if (key.startsWith(`${path}\0`)) sessions.delete(key);
    try {
      libraries.get(path)?.C_Finalize();
    } catch {
      // The library is being given up on either way; the caller reports the original failure.
    }
    libraries.delete(path);
  }

  private key(): string {
    return `${this.options.module}\0${this.options.tokenLabel}`;
  }

  private session(): Session {
    const key = this.key();
    const cached = sessions.get(key);
    if (cached) return cached;
    const pkcs11 = this.library();
    const slot = this.findSlot(pkcs11);
    const lib = this.lib;
    let handle: ObjectHandle;
    try {
      handle = pkcs11.C_OpenSession(slot, lib.CKF_SERIAL_SESSION | lib.CKF_RW_SESSION);
    } catch (err) {
      throw tokenError(err, this.label, 'opening a session');
    }
    try {
      // The PIN is read here, used once, and kept nowhere: the login holds for the process.
      pkcs11.C_Login(handle, lib.CKU_USER, this.options.pin());
    } catch (err) {
      if (cryptokiCode(err) !== CKR_USER_ALREADY_LOGGED_IN) {
        try {
          pkcs11.C_CloseSession(handle);
        } catch {
          // The session is useless either way; the login failure is what the operator must see.
        }
        throw tokenError(err, this.label, 'logging in', this.options.pinOrigin);
      }
    }
    let mechanisms: Set<number>;
    try {
      mechanisms = new Set(pkcs11.C_GetMechanismList(slot));
    } catch (err) {
      throw tokenError(err, this.label, 'listing its mechanisms');
    }
    const session = { pkcs11, handle, mechanisms };
    sessions.set(key, session);
    return session;
  }

  /** Loads and initialises the library once per process. */
  private library(): Pkcs11Js.PKCS11 {
    const path = this.options.module;
    const loaded = libraries.get(path);
    if (loaded) return loaded;
    if (path.includes('/') && !existsSync(path)) {
      throw new ConfigError(`pkcs11.module: ${path} does not exist; install the token vendor's PKCS#11 library and point pkcs11.module at it`);
    }
    const pkcs11 = new this.lib.PKCS11();
    try {
      pkcs11.load(path);
    } catch (err) {
      throw new ConfigError(`pkcs11.module: ${path} is not a PKCS#11 library (${(err as Error).message.split('\n')[0]})`, { cause: err });
    }
    try {
      pkcs11.C_Initialize();
    } catch (err) {
      if (cryptokiCode(err) !== CKR_CRYPTOKI_ALREADY_INITIALIZED) {
        const e = tokenError(err, this.label, `initialising ${path}`);
        throw e.retryable
          ? e
          : new ConfigError(`pkcs11.module: ${path} failed to initialise (${e.message}); check its own configuration (SoftHSM2: SOFTHSM2_CONF)`, {
              cause: err,
            });
      }
    }
    libraries.set(path, pkcs11);
    return pkcs11;
  }

  /** The slot whose token has the configured label. @throws ConfigError listing the tokens present. */
  private findSlot(pkcs11: Pkcs11Js.PKCS11): ObjectHandle {
    const labels: string[] = [];
    try {
      for (const slot of pkcs11.C_GetSlotList(true)) {
        const info = pkcs11.C_GetTokenInfo(slot);
        const label = info.label.replace(/[\s\0]+$/, '');
        if (label === this.label) return slot;
        if (label) labels.push(`"${label}"`);
      }
    } catch (err) {
      throw tokenError(err, this.label, 'listing the tokens');
    }
    const present = labels.length ? `the tokens present are ${labels.join(', ')}` : 'no initialised token is present';
    throw new ConfigError(`pkcs11.token_label: no token labelled "${this.label}" in ${this.options.module}; ${present}`);
  }
}

/**
 * Forgets the process's sessions and libraries (C_Finalize), so a later call starts afresh; for
 * tests that re-create a token directory within one process.
 */
export function finalizeTokens(): void {
  sessions.clear();
  for (const pkcs11 of libraries.values()) {
    try {
      pkcs11.C_Finalize();
    } catch {
      // Already finalised or never initialised: nothing to release.
    }
  }
  libraries.clear();
}
