/**
 * The agent's `--exec` hook: a shell command run after the files were replaced (reload the service
 * that uses them). Its outcome is reported, never thrown: a failed reload does not undo a renewal.
 */
import { spawn } from 'node:child_process';

/** How a hook run ended. */
export interface HookResult {
  /** The exit status, or null when a signal ended it. */
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  ms: number;
  /** The end of what it wrote (stdout and stderr together), for the log line of a failure. */
  output: string;
}

/** How much of a hook's output the log keeps. */
const OUTPUT_TAIL = 2000;
/** After the timeout's SIGTERM, how long the hook gets before SIGKILL. */
const KILL_GRACE_MS = 5000;

/** Whether a hook run succeeded (exit status 0). */
export function hookSucceeded(result: HookResult): boolean {
  return result.exitCode === 0;
}

/**
 * Runs `command` through `/bin/sh -c` with the agent's environment plus `env`, its output captured
 * (so stdout stays the agent's, for `--json`). Past `timeoutMs` its whole process group is sent
 * SIGTERM, then SIGKILL: a shell's children go too.
 * Never rejects; a command that cannot start is reported as exit status 127, as a shell would.
 */
export function runHook(command: string, env: Record<string, string>, timeoutMs: number): Promise<HookResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    let output = '';
    let timedOut = false;
    const keep = (chunk: Buffer) => (output = (output + chunk.toString('utf8')).slice(-OUTPUT_TAIL));
    const child = spawn('/bin/sh', ['-c', command], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const killGroup = (signal: NodeJS.Signals) => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, signal);
      } catch {
        // Already gone: nothing to stop.
      }
    };
    let killTimer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup('SIGTERM');
      killTimer = setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS);
    }, timeoutMs);
    let finished = false;
    let exitTimer: NodeJS.Timeout | undefined;
    const done = (exitCode: number | null, signal: string | null) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      if (exitTimer) clearTimeout(exitTimer);
      child.stdout.destroy();
      child.stderr.destroy();
      resolve({ exitCode, signal, timedOut, ms: Date.now() - started, output: output.trim() });
    };
    child.once('error', (err) => {
      keep(Buffer.from(err.message));
      done(127, null);
    });
    // 'close' comes once the output is read; a hook that leaves a daemon behind keeps our pipes open
    // in it, so after 'exit' the rest of the output gets a short while, then the pipes are dropped.
    child.once('close', (code, signal) => done(code, signal));
    child.once('exit', (code, signal) => (exitTimer = setTimeout(() => done(code, signal), 500)));
  });
}
