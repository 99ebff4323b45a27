/**
 * The agent's log: one JSON object per line on stderr, one line per event, in the shape of
 * `certctl serve`'s log lines (pino's: numeric `level`, `time` in epoch milliseconds, `pid`,
 * `hostname`, `msg`), so one `jq` filter reads both. No key material is ever logged.
 */
import { hostname } from 'node:os';

/** What happened: the `event` field of each line. */
export type AgentEvent = 'start' | 'schedule' | 'renewed' | 'hook' | 'error' | 'stop';

/** pino's level numbers. */
const LEVELS = { info: 30, warn: 40, error: 50 } as const;

/** Writes the agent's event lines. */
export interface AgentLog {
  info(event: AgentEvent, msg: string, fields?: Record<string, unknown>): void;
  warn(event: AgentEvent, msg: string, fields?: Record<string, unknown>): void;
  error(event: AgentEvent, msg: string, fields?: Record<string, unknown>): void;
}

/** An {@link AgentLog} writing JSON lines to `write` (stderr by default). */
export function jsonLog(write: (line: string) => void = (line) => process.stderr.write(line)): AgentLog {
  const host = hostname();
  const line =
    (level: keyof typeof LEVELS) =>
    (event: AgentEvent, msg: string, fields: Record<string, unknown> = {}) =>
      write(`${JSON.stringify({ level: LEVELS[level], time: Date.now(), pid: process.pid, hostname: host, event, ...fields, msg })}\n`);
  return { info: line('info'), warn: line('warn'), error: line('error') };
}
