import type { Command } from 'commander';
import type { AgentOptions } from '../../client/agent/run-agent';
import { OUTCOME_CODES, emit, fail, globalsOf } from '../runtime';

interface AgentFlags {
  server: string;
  cert: string;
  key: string;
  renewBefore: string;
  exec?: string;
  execTimeout: string;
  timeout: string;
  once?: boolean;
}

/** `certctl agent`: keeps one certificate renewed through `certctl serve` (mTLS), in the foreground or once. */
export function registerAgent(program: Command): void {
  program
    .command('agent')
    .description('keep a certificate renewed through certctl serve (mTLS): new key, files replaced atomically, a reload hook')
    .requiredOption('--server <url>', 'certctl serve, https://HOST:PORT')
    .requiredOption('--cert <file>', 'the certificate to renew (PEM; the leaf, optionally followed by its chain)')
    .requiredOption('--key <file>', 'its private key (unencrypted PEM); replaced by a new key at each renewal, mode 0600')
    // Declared for --help only: the global --ca (a CA name elsewhere) takes the value wherever it is written, so it is read from the globals.
    .option('--ca <file>', 'CA certificate(s) to verify the server with (default: ca.pem next to --cert)')
    .option('--renew-before <when>', 'renew when less than this share of the lifetime (33%) or this time (8h, 30d) is left; 100% renews now', '33%')
    .option('--exec <command>', 'run through /bin/sh -c after each renewal, e.g. "systemctl reload nginx"')
    .option('--exec-timeout <duration>', 'stop the --exec command after this long', '60s')
    .option('--timeout <duration>', 'per-request timeout', '30s')
    .option('--once', 'check once, renew if due, and exit (for cron and systemd timers)')
    .addHelpText(
      'after',
      `
Each renewal makes a new key of the same type, sends a CSR for the same names to POST /v1/renew
with the current certificate as the TLS client certificate, checks the answer, then replaces the
files: all written and fsynced under temporary names first, then renamed key first, certificate
second (with the CA file first when the CA certificate was re-issued). The --exec command runs
after that, with CERTCTL_CERT_FILE, CERTCTL_KEY_FILE, CERTCTL_CA_FILE, CERTCTL_SERIAL,
CERTCTL_PREVIOUS_SERIAL and CERTCTL_NOT_AFTER set; a failing command does not undo the renewal.
(dockerd reads its TLS files only at start: restart it, with "live-restore": true in daemon.json.)

Without --once the agent runs until SIGTERM (exit 0), logging one JSON line per event to stderr.
Network errors, 5xx and 429 are retried with backoff and jitter (1 s doubling to 5 min); a refused
certificate (revoked, unknown: 401) or policy refusal (403) is logged and retried every ~5 min, and
new files put in place by someone else are picked up at the next wake. A failed hook is retried.
Exit codes with --once: 0 nothing due or renewed; ${OUTCOME_CODES.hookFailed} renewed but --exec failed; otherwise the
error's (6 server unavailable, 7 certificate refused, 4 a file missing, 2 bad flags or files).

Examples:
  certctl agent --server https://ca.example:8443 --cert /var/docker/server-cert.pem \\
    --key /var/docker/server-key.pem --exec 'systemctl restart docker'
  certctl agent --once --server https://ca.example:8443 --cert tls/cert.pem --key tls/key.pem --renew-before 8h`,
    )
    .action(runAgentCommand);
}

/** The action: `--once` checks and exits; otherwise the agent runs until SIGTERM or SIGINT (exit 0). */
async function runAgentCommand(opts: AgentFlags, cmd: Command): Promise<void> {
  const globals = globalsOf(cmd);
  try {
    const { jsonLog } = require('../../client/agent/agent-log') as typeof import('../../client/agent/agent-log');
    const { checkOnce, runAgent } = require('../../client/agent/run-agent') as typeof import('../../client/agent/run-agent');
    const options = agentOptions({ ...opts, ca: globals.ca });
    const log = jsonLog();
    if (opts.once) {
      const result = await checkOnce(options, log);
      const hookFailed = result.hook !== undefined && result.hook.exitCode !== 0;
      emit(globals, result, undefined, hookFailed ? OUTCOME_CODES.hookFailed : 0);
      return;
    }
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    try {
      await runAgent(options, log, stop.signal);
    } finally {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    }
  } catch (err) {
    process.exitCode = fail(err, Boolean(globals.json));
  }
}

/**
 * The agent's options from its flags, checked before anything is read or sent.
 * @throws InvalidInputError naming the flag.
 */
function agentOptions(flags: AgentFlags & { ca?: string }): AgentOptions {
  const { parseDuration } = require('../../core/duration') as typeof import('../../core/duration');
  const { normalizeUrl } = require('../../client/server-client') as typeof import('../../client/server-client');
  const { agentFiles } = require('../../client/agent/credentials') as typeof import('../../client/agent/credentials');
  const { parseRenewBefore } = require('../../client/agent/schedule') as typeof import('../../client/agent/schedule');
  return {
    server: normalizeUrl(flags.server),
    files: agentFiles(flags.cert, flags.key, flags.ca),
    caGiven: flags.ca !== undefined,
    renewBefore: parseRenewBefore(flags.renewBefore),
    renewBeforeText: flags.renewBefore,
    exec: flags.exec,
    execTimeoutMs: parseDuration(flags.execTimeout, '--exec-timeout') * 1000,
    timeoutMs: parseDuration(flags.timeout, '--timeout') * 1000,
  };
}
