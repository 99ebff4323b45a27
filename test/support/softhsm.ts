import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** A SoftHSM2 token made for one test file, in the SOFTHSM2_CONF directory jest's global setup made. */
export interface SoftHsm {
  /** The PKCS#11 module (libsofthsm2.so). */
  module: string;
  /** The SOFTHSM2_CONF file (global-setup.js put it in the environment before any worker started). */
  conf: string;
  /** The directory holding the token directories (directories.tokendir). */
  tokenDir: string;
  /** This token's own directory in `tokenDir` (SoftHSM2 keeps each token's objects as files there). */
  tokenPath: string;
  tokenLabel: string;
  pin: string;
  /** A file holding the PIN, for `pkcs11.pin_file`. */
  pinFile: string;
  /** The environment a child certctl needs to see this token. */
  env: Record<string, string>;
  /** Runs Debian's pkcs11-tool (OpenSC) on this token, as the independent check. */
  tool(args: string[], login?: boolean): { status: number | null; stdout: string; stderr: string };
  /**
   * Tries, outside certctl (a separate node process calling C_GetAttributeValue through pkcs11js),
   * to read the secret value of the private key `label`: CKA_VALUE (EC, EdDSA) or
   * CKA_PRIVATE_EXPONENT (RSA). Returns the Cryptoki error the token answered, or `read` when the
   * value came back.
   */
  readPrivateValue(label: string): string;
  /** A certctl.yaml `pkcs11:` section for this token; `keyLabel` keeps tests in one token apart. */
  section(keyLabel?: string): string;
  cleanup(): void;
}

const MODULES = [
  '/usr/lib/softhsm/libsofthsm2.so',
  '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so',
  '/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so',
  '/usr/local/lib/softhsm/libsofthsm2.so',
];
const HOW_TO_INSTALL = 'install them with `apt-get install softhsm2 opensc` (tools/install-test-deps.sh does)';

/**
 * Creates a fresh token (`softhsm2-util --init-token --free`) in the SOFTHSM2_CONF directory of
 * .cache/softhsm2 (test/support/global-setup.js); removed again by `cleanup`. Undefined, after a loud warning, on a developer
 * machine without SoftHSM2 or pkcs11-tool; under CI (CI set) that throws: nothing may be skipped there.
 */
export function startSoftHsm(): SoftHsm | undefined {
  const module = MODULES.find((m) => existsSync(m));
  const missing = [
    ...(module ? [] : ['libsofthsm2.so']),
    ...(['softhsm2-util', 'pkcs11-tool'] as const).filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0),
  ];
  if (!module || missing.length) {
    const why = `${missing.join(', ')} not found`;
    if (process.env.CI) throw new Error(`PKCS#11 tests cannot run under CI: ${why}; ${HOW_TO_INSTALL}`);
    console.warn(`\n*** SKIPPING PKCS#11 (SoftHSM2) tests: ${why}.\n*** ${HOW_TO_INSTALL}.\n`);
    return undefined;
  }
  const conf = process.env.CERTCTL_IT_SOFTHSM2_CONF;
  if (!conf) throw new Error('CERTCTL_IT_SOFTHSM2_CONF is not set: run the PKCS#11 tests through jest (test/support/global-setup.js sets it)');
  const tokenDir = join(dirname(conf), 'tokens');
  const dir = mkdtempSync(join(tmpdir(), 'certctl-softhsm-'));
  const tokenLabel = `certctl-${randomBytes(3).toString('hex')}`;
  const pin = randomBytes(6).toString('hex');
  const pinFile = join(dir, 'pin');
  writeFileSync(pinFile, `${pin}\n`, { mode: 0o600 });
  const env = { SOFTHSM2_CONF: conf };
  const before = new Set(existsSync(tokenDir) ? readdirSync(tokenDir) : []);
  const init = spawnSync('softhsm2-util', ['--init-token', '--free', '--label', tokenLabel, '--pin', pin, '--so-pin', randomBytes(6).toString('hex')], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  if (init.status !== 0) throw new Error(`softhsm2-util --init-token failed: ${init.stderr}`);
  const tokenPath = join(tokenDir, readdirSync(tokenDir).find((d) => !before.has(d)) ?? '');
  return {
    module,
    conf,
    tokenDir,
    tokenPath,
    tokenLabel,
    pin,
    pinFile,
    env,
    tool(args, login = true) {
      const r = spawnSync('pkcs11-tool', ['--module', module, '--token-label', tokenLabel, ...(login ? ['--login', '--pin', pin] : []), ...args], {
        encoding: 'utf8',
        env: { ...process.env, ...env },
      });
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    },
    readPrivateValue(label) {
      const script = `
        const p = require('pkcs11js'); const lib = new p.PKCS11(); lib.load(${JSON.stringify(module)}); lib.C_Initialize();
        const slot = lib.C_GetSlotList(true).find((s) => lib.C_GetTokenInfo(s).label.trim() === ${JSON.stringify(tokenLabel)});
        const s = lib.C_OpenSession(slot, p.CKF_SERIAL_SESSION); lib.C_Login(s, p.CKU_USER, process.env.PIN);
        lib.C_FindObjectsInit(s, [{ type: p.CKA_CLASS, value: p.CKO_PRIVATE_KEY }, { type: p.CKA_LABEL, value: ${JSON.stringify(label)} }]);
        const [key] = lib.C_FindObjects(s, 1); lib.C_FindObjectsFinal(s);
        if (!key) { console.log('absent'); process.exit(0); }
        const rsa = lib.C_GetAttributeValue(s, key, [{ type: p.CKA_KEY_TYPE }])[0].value.readUInt32LE(0) === p.CKK_RSA;
        try { lib.C_GetAttributeValue(s, key, [{ type: rsa ? p.CKA_PRIVATE_EXPONENT : p.CKA_VALUE }]); console.log('read'); }
        catch (e) { console.log(e.message); }
        lib.C_Finalize();`;
      const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', cwd: join(__dirname, '..', '..'), env: { ...process.env, ...env, PIN: pin } });
      if (r.status !== 0) throw new Error(`reading the key's value failed: ${r.stderr}`);
      return r.stdout.trim();
    },
    section(keyLabel) {
      return `pkcs11:\n  module: ${module}\n  token_label: ${tokenLabel}\n  pin_file: ${pinFile}\n${keyLabel ? `  key_label: "${keyLabel}"\n` : ''}`;
    },
    cleanup() {
      spawnSync('softhsm2-util', ['--delete-token', '--token', tokenLabel], { env: { ...process.env, ...env }, stdio: 'ignore' });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * `describe` with a fresh SoftHSM2 token when SoftHSM2 is there, `describe.skip` (after the loud
 * warning) when not. The process's PKCS#11 sessions are finalised afterwards, so a later test
 * file in the same jest worker starts afresh with its own SOFTHSM2_CONF.
 */
export function describeWithSoftHsm(name: string, fn: (hsm: SoftHsm) => void): void {
  const hsm = startSoftHsm();
  if (!hsm) {
    describe.skip(name, () => it('needs SoftHSM2 and pkcs11-tool', () => undefined));
    return;
  }
  describe(name, () => {
    afterAll(() => {
      // Required lazily: this file must not load the native addon when SoftHSM2 is absent.
      const { finalizeTokens } = require('../../src/backends/pkcs11/token') as typeof import('../../src/backends/pkcs11/token');
      finalizeTokens();
      hsm.cleanup();
    });
    fn(hsm);
  });
}
