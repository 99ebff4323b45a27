import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hookSucceeded, runHook } from '../../../src/client/agent/hook';

describe('agent: the --exec hook', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'certctl-agent-hook-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('runs through /bin/sh -c with the given environment and reports its exit status and output', async () => {
    const ok = await runHook('echo "$CERTCTL_SERIAL" > "$OUT/seen" && echo done', { CERTCTL_SERIAL: '0ABC', OUT: dir }, 10_000);
    expect(ok).toMatchObject({ exitCode: 0, timedOut: false, output: 'done' });
    expect(hookSucceeded(ok)).toBe(true);
    expect(readFileSync(join(dir, 'seen'), 'utf8')).toBe('0ABC\n');
    const failed = await runHook('echo "nginx: [emerg] cannot load certificate" >&2; exit 1', {}, 10_000);
    expect(failed).toMatchObject({ exitCode: 1, output: 'nginx: [emerg] cannot load certificate' });
    expect(hookSucceeded(failed)).toBe(false);
  });

  it('stops a hook past its timeout, with the processes it started', async () => {
    const pidFile = join(dir, 'child.pid');
    const r = await runHook(`sleep 60 & echo $! > ${pidFile}; wait`, {}, 300);
    expect(r.timedOut).toBe(true);
    expect(hookSucceeded(r)).toBe(false);
    const child = Number(readFileSync(pidFile, 'utf8'));
    // The background sleep got the group's SIGTERM: wait for it to be gone or a zombie (bounded), then check.
    const alive = () => {
      try {
        return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${child}/stat`, 'utf8'));
      } catch {
        return false;
      }
    };
    for (let i = 0; i < 50 && alive(); i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(alive()).toBe(false);
  });

  it('reports a hook that leaves a daemon holding its output open, without waiting for the daemon', async () => {
    const pidFile = join(dir, 'daemon.pid');
    const r = await runHook(`sleep 30 & echo $! > ${pidFile}; echo started`, {}, 10_000);
    process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGTERM');
    expect(r).toMatchObject({ exitCode: 0, timedOut: false });
    expect(r.output).toContain('started');
  });
});
