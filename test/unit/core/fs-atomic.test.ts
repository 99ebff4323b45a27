import { mkdirSync, mkdtempSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidInputError } from '../../../src/core/errors';
import { stageFiles, withLeftovers } from '../../../src/core/fs-atomic';

describe('staged output files that cannot be removed are named, never dropped silently', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'certctl-fs-atomic-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('abort removes the temp files and reports none left', () => {
    const staged = stageFiles([{ path: join(dir, 'key.pem'), data: 'KEY', mode: 0o600 }], false);
    expect(readdirSync(dir)).toHaveLength(1);
    expect(staged.abort()).toEqual([]);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a temp file the filesystem refuses to unlink (EISDIR: a directory took its name) is returned, and named in the error', () => {
    const staged = stageFiles([{ path: join(dir, 'key.pem'), data: 'KEY', mode: 0o600 }], false);
    const [temp] = readdirSync(dir);
    unlinkSync(join(dir, temp));
    mkdirSync(join(dir, temp));
    writeFileSync(join(dir, temp, 'inside'), 'x');
    const left = staged.abort();
    expect(left).toEqual([join(dir, temp)]);
    const err = withLeftovers(new InvalidInputError('the store refused the batch'), left) as Error;
    expect(err).toBeInstanceOf(InvalidInputError);
    expect(err.message).toBe(
      `the store refused the batch; could not remove these temporary files (they may hold private keys — delete them): ${join(dir, temp)}`,
    );
  });
});
