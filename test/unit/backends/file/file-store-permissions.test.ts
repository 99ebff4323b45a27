/**
 * A permission error on the file store is configuration (exit 3) naming the path and what to do,
 * never "backend unavailable, retry may help" and never "no such CA".
 *
 * The errors are real ones from the kernel, not built by hand. These tests usually run as root,
 * which passes every permission check on an ordinary directory (chmod does not stop it), so:
 * - EACCES: as root, the effective uid is switched to `nobody` around the one store call and back
 *   (seteuid keeps the saved uid 0, so it is reversible); as another user, chmod does the job;
 * - EPERM: sysfs refuses to create entries even for root (a non-root user gets EACCES there);
 * - EROFS: no read-only file system is available to the tests (mounting one needs privileges a
 *   test should not use), so it is covered only by sharing the code path of the two above.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileCertStore } from '../../../../src/backends/file/file-cert-store';
import { fileStoreError } from '../../../../src/backends/file/fs-errors';
import { ConfigError, InternalError, NotFoundError } from '../../../../src/core/errors';
import type { CaRecord, IssuedCertificate } from '../../../../src/core/types';

const ca: CaRecord = {
  name: 'default',
  certPem: '-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n',
  chainPem: [],
  keyType: 'ec-p256',
  keyEncrypted: false,
  createdAt: '2026-01-01T00:00:00.000Z',
};
const item: IssuedCertificate = {
  record: {
    serial: '0A0B',
    profile: 'client',
    commonName: 'c',
    dnsNames: [],
    ipAddresses: [],
    keyType: 'ec-p256',
    notBefore: '2026-01-01T00:00:00.000Z',
    notAfter: '2027-01-01T00:00:00.000Z',
    issuedAt: '2026-01-01T00:00:00.000Z',
    hasKey: true,
    sha256: '00',
    status: 'valid',
  },
  certPem: '-----BEGIN CERTIFICATE-----\nAB==\n-----END CERTIFICATE-----\n',
};
const root = process.geteuid?.() === 0;
const NOBODY = 65534;

/** Runs `fn` with the effective uid of `nobody` (as root) and switches back whatever happens. */
async function asNobody<T>(fn: () => Promise<T>): Promise<T> {
  process.seteuid!(NOBODY);
  try {
    return await fn();
  } finally {
    process.seteuid!(0);
  }
}

function expectPermissionConfigError(err: unknown, dir: string): void {
  expect(err).toBeInstanceOf(ConfigError);
  const e = err as ConfigError;
  expect(e.exitCode).toBe(3);
  expect(e.message).toMatch(/permission denied on .* \((EACCES|EPERM)\)/);
  expect(e.message).toContain(dir);
  expect(e.message).toMatch(/owner or permissions.*file\.dir \(or CERTCTL_FILE_DIR\)/);
  expect(e.message).not.toMatch(/try again|retry|locked by another/);
}

describe('file store permission errors', () => {
  let base: string;
  let dir: string;
  let store: FileCertStore;
  beforeEach(async () => {
    base = mkdtempSync(join(tmpdir(), 'certctl-perm-'));
    dir = join(base, 'pki');
    store = new FileCertStore({ dir });
    await store.createCa(ca, 'K');
  });
  afterEach(() => rmSync(base, { recursive: true, force: true }));

  it('a CA directory the user may read but not write: storing is exit 3, not "locked by another process, try again"', async () => {
    const caDir = join(dir, 'default');
    let err: unknown;
    if (root) {
      // nobody may traverse and read down to the CA, but not write in it.
      for (const d of [base, dir, caDir]) chmodSync(d, 0o755);
      err = await asNobody(() => store.putIssued('default', [item]).catch((e: unknown) => e));
    } else {
      chmodSync(caDir, 0o555);
      err = await store.putIssued('default', [item]).catch((e: unknown) => e);
      chmodSync(caDir, 0o700);
    }
    expectPermissionConfigError(err, dir);
    expect((err as Error).message).toMatch(/^cannot store 1 certificate in CA "default": permission denied on .*\.lock/);
    expect(readFileSync(join(caDir, 'inventory.jsonl'), 'utf8')).toBe('');
  });

  it('a store the user may not read: exit 3 naming the path, not "no such CA" or "no such certificate"', async () => {
    const read = async () =>
      Promise.all([
        store.list('default').catch((e: unknown) => e),
        store.get('default', '0A0B').catch((e: unknown) => e),
        store.getCaKey('default').catch((e: unknown) => e),
      ]);
    let errors: unknown[];
    if (root) {
      errors = await asNobody(read);
    } else {
      chmodSync(dir, 0o000);
      errors = await read();
      chmodSync(dir, 0o700);
    }
    for (const err of errors) {
      expect(err).not.toBeInstanceOf(NotFoundError);
      expectPermissionConfigError(err, dir);
    }
  });

  it('a store directory where nothing may be created (sysfs): init is exit 3 naming file.dir', async () => {
    const sysDir = '/sys/certctl-test-store';
    const err = await new FileCertStore({ dir: sysDir }).createCa(ca, 'K').catch((e: unknown) => e);
    expectPermissionConfigError(err, sysDir);
    expect((err as Error).message).toMatch(root ? /\(EPERM\)/ : /\((EPERM|EACCES)\)/);
  });
});

describe('fileStoreError (the one translation of fs errors)', () => {
  /** The error a real fs call throws. */
  const thrownBy = (fn: () => unknown): unknown => {
    try {
      fn();
    } catch (err) {
      return err;
    }
    throw new Error('expected the call to fail');
  };

  it('maps a real EPERM/EACCES to ConfigError and anything else to InternalError, keeping the cause', () => {
    const denied = thrownBy(() => mkdirSync('/sys/certctl-test-dir'));
    const config = fileStoreError(denied, 'create CA "x"', '/sys');
    expect(config).toBeInstanceOf(ConfigError);
    expect(config.cause).toBe(denied);
    expect(config.message).toContain('/sys/certctl-test-dir');

    const notDir = thrownBy(() => readdirSync(__filename));
    const internal = fileStoreError(notDir, 'list the CAs', tmpdir());
    expect(internal).toBeInstanceOf(InternalError);
    expect(internal.message).toBe(`cannot list the CAs: ENOTDIR on ${__filename}`);
  });
});
