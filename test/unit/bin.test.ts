/**
 * bin/certctl.js in a checkout that has not been built: a copy of the launcher in a temporary
 * directory with no dist/ beside it, run as a user would.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CERTCTL_BIN, tempDir } from '../support/cli';

describe('bin/certctl.js before a build', () => {
  const ws = tempDir('certctl-unbuilt-');
  afterAll(() => ws.cleanup());

  test('prints one line saying how to build and exits 1, with no ENOENT stack', () => {
    mkdirSync(join(ws.dir, 'bin'));
    const bin = join(ws.dir, 'bin', 'certctl.js');
    copyFileSync(CERTCTL_BIN, bin);
    const r = spawnSync(process.execPath, [bin, 'init', '--cn', 'x'], { cwd: ws.dir, encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('npm run build');
    expect(lines[0]).toContain('npm ci');
    expect(r.stderr).not.toMatch(/ENOENT|^\s+at /m);
  });
});
