import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileCertStore } from '../../../../src/backends/file/file-cert-store';

describe('file store state records on disk', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'certctl-state-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps one 0600 file per record in 0700 directories, and leaves no lock or temp file behind', async () => {
    const store = new FileCertStore({ dir: join(dir, 'pki') });
    await store.createState('enroll-tokens', 'a'.repeat(64), { grant: 1 }, { expiresAt: new Date(Date.now() + 60_000) });
    await store.updateState('enroll-tokens', 'a'.repeat(64), { grant: 2 }, 1);
    expect(await store.claimState('enroll-tokens', 'a'.repeat(64))).toMatchObject({ claimed: true });
    await store.createState('enroll-tokens', 'b'.repeat(64), {});
    await store.deleteState('enroll-tokens', 'b'.repeat(64));
    const ns = join(dir, 'pki', '_state', 'enroll-tokens');
    for (const d of [join(dir, 'pki'), join(dir, 'pki', '_state'), ns]) expect(statSync(d).mode & 0o777).toBe(0o700);
    expect(readdirSync(ns)).toEqual([`${'a'.repeat(64)}.json`]);
    expect(statSync(join(ns, `${'a'.repeat(64)}.json`)).mode & 0o777).toBe(0o600);
    // The state directory is no CA.
    expect(await store.listCas()).toEqual([]);
  });
});
