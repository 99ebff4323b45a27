import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, rmdirSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildSync } from 'esbuild';
import { underCaLock } from '../../../../src/backends/file/ca-lock';
import { InternalError } from '../../../../src/core/errors';

const translate = (err: unknown) => new InternalError(String(err));

describe('CA lock', () => {
  let dir: string;
  let lockPath: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'certctl-lock-'));
    lockPath = join(dir, '.lock');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('holds <dir>/.lock while fn runs and removes it after', async () => {
    let seen = false;
    expect(await underCaLock(dir, 'default', () => (seen = existsSync(lockPath)), translate)).toBe(true);
    expect(seen).toBe(true);
    expect(existsSync(lockPath)).toBe(false);
  });

  it('waits while another process holds a fresh lock, and goes ahead once it is released', async () => {
    mkdirSync(lockPath);
    let ran = false;
    const done = underCaLock(dir, 'default', () => (ran = true), translate);
    await new Promise((r) => setTimeout(r, 50));
    expect(ran).toBe(false);
    rmdirSync(lockPath);
    await done;
    expect(ran).toBe(true);
    expect(existsSync(lockPath)).toBe(false);
  });

  it('takes over a lock left older than 30 s by a crashed process', async () => {
    mkdirSync(lockPath);
    const old = new Date(Date.now() - 31_000);
    utimesSync(lockPath, old, old);
    expect(await underCaLock(dir, 'default', () => 'ran', translate)).toBe('ran');
    expect(existsSync(lockPath)).toBe(false);
  });

  it('releases the lock when fn throws, and passes on the translated error', async () => {
    await expect(
      underCaLock(
        dir,
        'default',
        () => {
          throw new Error('disk full');
        },
        translate,
      ),
    ).rejects.toThrow(/disk full/);
    expect(existsSync(lockPath)).toBe(false);
  });

  /** Runs ca-lock.ts bundled as is in a child process (a signal must not reach the test runner) with `body` as fn. */
  function runChild(body: string) {
    const { outputFiles } = buildSync({
      stdin: {
        contents: `
          const { underCaLock } = require(${JSON.stringify(resolve(__dirname, '../../../../src/backends/file/ca-lock.ts'))});
          const { writeFileSync } = require('node:fs');
          const marker = ${JSON.stringify(join(dir, 'marker'))};
          void underCaLock(${JSON.stringify(dir)}, 'default', ${body}, (e) => e)
            .then(() => setTimeout(() => writeFileSync(marker, 'not killed'), 5000));
        `,
        resolveDir: __dirname,
        loader: 'ts',
      },
      bundle: true,
      platform: 'node',
      format: 'cjs',
      write: false,
    });
    const child = spawnSync(process.execPath, ['-e', outputFiles[0].text], { encoding: 'utf8', timeout: 30000 });
    const marker = existsSync(join(dir, 'marker')) ? readFileSync(join(dir, 'marker'), 'utf8') : undefined;
    return { child, marker };
  }

  it('a signal that arrives during synchronous work under the lock ends the process once that work is done and the lock released', () => {
    const { child, marker } = runChild(`() => { process.kill(process.pid, 'SIGINT'); writeFileSync(marker, 'done'); }`);
    expect(child.stderr).toBe('');
    expect(child.signal).toBe('SIGINT');
    expect(marker).toBe('done');
    expect(existsSync(lockPath)).toBe(false);
  });

  it('a signal that arrives while work under the lock waits (an fsync) ends the process at once, leaving no lock behind', () => {
    const { child, marker } = runChild(
      `async () => { process.kill(process.pid, 'SIGTERM'); await new Promise((r) => setTimeout(r, 2000)); writeFileSync(marker, 'done'); }`,
    );
    expect(child.stderr).toBe('');
    expect(child.signal).toBe('SIGTERM');
    expect(marker).toBeUndefined();
    expect(existsSync(lockPath)).toBe(false);
  });
});
