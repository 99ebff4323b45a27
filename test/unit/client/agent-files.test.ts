/**
 * The agent's file handling: what it reads, the order it renames in, what a failed rename leaves,
 * modes and symbolic links; and when it rewrites the CA file. Keys and certificates made with openssl.
 */
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidInputError, NotFoundError } from '../../../src/core/errors';
import { agentFiles, readCredentials, replaceCredentials } from '../../../src/client/agent/credentials';
import { reissuedCa } from '../../../src/client/agent/renewal';
import { opensslEcReq, run } from '../../support/cli';

/**
 * Every rename the code under test makes, recorded; `failRenameTo` is the fault injection (a fake
 * rename that fails for one target, as an I/O error would), used by one test only.
 */
const renames: string[] = [];
let failRenameTo: string | undefined;
jest.mock('node:fs', () => {
  const actual = jest.requireActual<typeof import('node:fs')>('node:fs');
  return {
    ...actual,
    renameSync: (from: string, to: string) => {
      if (to === failRenameTo) throw Object.assign(new Error('EIO: i/o error, rename'), { code: 'EIO' });
      renames.push(to);
      actual.renameSync(from, to);
    },
  };
});

/** A self-signed certificate and its key, written by openssl into `dir`. */
function selfSigned(dir: string, name: string, subject = `/CN=${name}`, days = 30, keyFile = `${name}.key`): { cert: string; key: string } {
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, keyFile);
  if (readdirSync(dir).includes(keyFile)) {
    const r = run('openssl', ['req', '-x509', '-new', '-key', key, '-subj', subject, '-days', String(days), '-out', cert]);
    if (r.status !== 0) throw new Error(r.stderr);
  } else {
    opensslEcReq(dir, key, ['-x509', '-subj', subject, '-days', String(days), '-out', cert]);
  }
  return { cert, key };
}

describe('agent: reading and replacing the files', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'certctl-agent-files-'))));
  afterEach(() => {
    renames.length = 0;
    failRenameTo = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('defaults the CA file to ca.pem next to the certificate', () => {
    expect(agentFiles('/etc/docker/server-cert.pem', '/etc/docker/server-key.pem')).toEqual({
      cert: '/etc/docker/server-cert.pem',
      key: '/etc/docker/server-key.pem',
      ca: '/etc/docker/ca.pem',
    });
    expect(agentFiles('a/cert.pem', 'a/key.pem', 'trust.pem').ca).toBe('trust.pem');
  });

  it("refuses a missing file (not found) and a key that is not the certificate's (invalid input)", () => {
    const a = selfSigned(dir, 'a');
    const b = selfSigned(dir, 'b');
    expect(() => readCredentials({ cert: a.cert, key: a.key, ca: join(dir, 'nope.pem') }, false)).toThrow(NotFoundError);
    expect(() => readCredentials({ cert: a.cert, key: b.key, ca: a.cert }, true)).toThrow(InvalidInputError);
    expect(() => readCredentials({ cert: a.cert, key: b.key, ca: a.cert }, true)).toThrow(/is not the key of/);
    const creds = readCredentials({ cert: a.cert, key: a.key, ca: a.cert }, true);
    expect(creds.withChain).toBe(false);
    expect(creds.notAfter.getTime()).toBeGreaterThan(creds.notBefore.getTime());
  });

  it('renames the key into place before the certificate; the key is 0600, the certificate keeps its mode', () => {
    const old = selfSigned(dir, 'old');
    const next = selfSigned(dir, 'next');
    chmodSync(old.cert, 0o640);
    const files = { cert: old.cert, key: old.key, ca: old.cert };
    const current = readCredentials(files, true);
    const written = replaceCredentials(files, current, { certPem: readFileSync(next.cert, 'utf8'), keyPem: readFileSync(next.key, 'utf8') });
    expect(renames).toEqual([old.key, old.cert]);
    expect(written).toEqual([old.key, old.cert]);
    expect(readFileSync(old.cert, 'utf8')).toBe(readFileSync(next.cert, 'utf8'));
    expect(statSync(old.key).mode & 0o777).toBe(0o600);
    expect(statSync(old.cert).mode & 0o777).toBe(0o640);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('replaces the file a symbolic link points to, and keeps the link', () => {
    const real = join(dir, 'archive');
    mkdirSync(real);
    const old = selfSigned(real, 'old');
    const next = selfSigned(dir, 'next');
    const live = join(dir, 'live');
    mkdirSync(live);
    symlinkSync(old.cert, join(live, 'cert.pem'));
    symlinkSync(old.key, join(live, 'key.pem'));
    const files = { cert: join(live, 'cert.pem'), key: join(live, 'key.pem'), ca: old.cert };
    replaceCredentials(files, readCredentials(files, true), { certPem: readFileSync(next.cert, 'utf8'), keyPem: readFileSync(next.key, 'utf8') });
    expect(lstatSync(files.cert).isSymbolicLink()).toBe(true);
    expect(readFileSync(old.cert, 'utf8')).toBe(readFileSync(next.cert, 'utf8'));
    expect(readFileSync(old.key, 'utf8')).toBe(readFileSync(next.key, 'utf8'));
  });

  it('puts the previous key back when the certificate cannot be renamed after the key (fault injected: a failing rename)', () => {
    const old = selfSigned(dir, 'old');
    const next = selfSigned(dir, 'next');
    const files = { cert: old.cert, key: old.key, ca: old.cert };
    const current = readCredentials(files, true);
    const oldKey = readFileSync(old.key, 'utf8');
    failRenameTo = old.cert;
    expect(() => replaceCredentials(files, current, { certPem: readFileSync(next.cert, 'utf8'), keyPem: readFileSync(next.key, 'utf8') })).toThrow(
      /the previous key was put back/,
    );
    expect(renames).toEqual([old.key, old.key]);
    expect(readFileSync(old.key, 'utf8')).toBe(oldKey);
    expect(readCredentials(files, true).serial).toBe(current.serial);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});

describe('agent: the CA file after a renewal', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'certctl-agent-ca-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is left alone when it holds the CA, or when the CA is another one (no trust is added)', () => {
    const ca = selfSigned(dir, 'ca', '/CN=Agent CA');
    const other = selfSigned(dir, 'other', '/CN=Other CA');
    const caPem = readFileSync(ca.cert, 'utf8');
    expect(reissuedCa(caPem, caPem)).toBeUndefined();
    expect(reissuedCa(caPem, readFileSync(other.cert, 'utf8'))).toBeUndefined();
  });

  it('swaps in a CA certificate re-issued with the same name and key, keeping the other certificates of the file', () => {
    const ca = selfSigned(dir, 'ca', '/CN=Agent CA', 30);
    const other = selfSigned(dir, 'other', '/CN=Other CA');
    writeFileSync(join(dir, 'bundle.pem'), readFileSync(other.cert, 'utf8') + readFileSync(ca.cert, 'utf8'));
    const reissued = selfSigned(dir, 'ca2', '/CN=Agent CA', 3650, 'ca.key');
    const next = reissuedCa(readFileSync(join(dir, 'bundle.pem'), 'utf8'), readFileSync(reissued.cert, 'utf8'));
    expect(next).toBe(readFileSync(other.cert, 'utf8') + readFileSync(reissued.cert, 'utf8'));
  });
});
