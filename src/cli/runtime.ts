import { inspect } from 'node:util';
import type { Command } from 'commander';
import type { IssuanceService } from '../core/issuance-service';
import type { CertStore } from '../core/cert-store';
import type { ResolvedConfig } from '../core/config/load';
import type { PassphraseSource } from '../core/secrets';
import { CertctlError, EXIT_CODES, toCertctlError } from '../core/errors';

/** Options every command accepts (before or after the command name). */
export interface GlobalOptions {
  config?: string;
  backend?: string;
  ca?: string;
  json?: boolean;
  passphraseFile?: string;
}

/** What a command needs to run: the wired service, the resolved configuration and the CA passphrase. */
export interface Runtime {
  service: IssuanceService;
  config: ResolvedConfig;
  passphrase: PassphraseSource;
  /** The command's CertStore, for what the issuance workflow does not cover (server state: ACME keys, enrollment tokens). */
  store(): CertStore;
}

/** Global options of the running command. */
export function globalsOf(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals<GlobalOptions>();
}

/**
 * Loads the configuration, with the backend sections the registry knows, and the passphrase
 * source: what every command starts from.
 * @throws ConfigError for a bad config file or environment.
 */
export function loadRuntimeConfig(globals: GlobalOptions): { config: ResolvedConfig; passphrase: PassphraseSource } {
  const { loadConfig } = require('../core/config/load') as typeof import('../core/config/load');
  const { registry } = require('../backends') as typeof import('../backends');
  const { passphraseSource } = require('../core/secrets') as typeof import('../core/secrets');
  const { SERVER_SECTIONS } = require('../server/section') as typeof import('../server/section');
  const sections = [...registry.sections(), ...SERVER_SECTIONS];
  const config = loadConfig({ configPath: globals.config, backend: globals.backend, ca: globals.ca }, process.env, process.cwd(), sections);
  return { config, passphrase: passphraseSource(globals.passphraseFile, config.env) };
}

/**
 * Loads configuration and wires the container: only when a command runs, so `--help` stays
 * cheap. The one container of the command, built by the core's composition root.
 * @throws ConfigError / NotSupportedError for a bad config or backend.
 */
export function createRuntime(globals: GlobalOptions): Runtime {
  const { registry } = require('../backends') as typeof import('../backends');
  const { createContainer } = require('../core/container') as typeof import('../core/container');
  const { IssuanceService } = require('../core/issuance-service') as typeof import('../core/issuance-service');
  const { config, passphrase } = loadRuntimeConfig(globals);
  const container = createContainer(config, passphrase, registry);
  const { CertStore } = require('../core/cert-store') as typeof import('../core/cert-store');
  return { service: container.get(IssuanceService), config, passphrase, store: () => container.get<CertStore>(CertStore) };
}

/**
 * Exit codes that report an outcome, not an error: above DESIGN.md's error codes 1–9 so that a
 * script tells "found something" from "could not look" (a check command's convention).
 */
export const OUTCOME_CODES = {
  /** `check --expiring`: something expires within the window. */
  expiring: 10,
  /** `renew --expiring`: at least one renewal failed (the others were renewed). */
  someFailed: 11,
  /** `agent --once`: renewed and the files replaced, but the --exec hook failed (the service may still use the old certificate). */
  hookFailed: 12,
} as const;

/**
 * Prints a command's result: `{"status":N,"result":…}` with --json, else the human text on stdout.
 * A non-zero `status` (an {@link OUTCOME_CODES} value) also becomes the exit code.
 */
export function emit(globals: GlobalOptions, result: unknown, human?: string, status = 0): void {
  if (status !== 0) process.exitCode = status;
  if (globals.json) process.stdout.write(`${JSON.stringify({ status, result })}\n`);
  else if (human !== undefined) process.stdout.write(human.endsWith('\n') || human === '' ? human : `${human}\n`);
}

/** A note for people (warnings, where files went): stderr, never stdout, so pipes stay clean. */
export function note(globals: GlobalOptions, text: string): void {
  if (!globals.json) process.stderr.write(`${text}\n`);
}

/** Reports an error with its exit code; JSON on stdout with --json, the message on stderr always. */
export function fail(err: unknown, json: boolean): number {
  const e: CertctlError = toCertctlError(err);
  if (json) process.stdout.write(`${JSON.stringify({ status: e.exitCode, error: { code: e.code, message: e.message } })}\n`);
  process.stderr.write(`certctl: ${e.message}\n`);
  if (process.env.CERTCTL_DEBUG && e.cause) process.stderr.write(`cause: ${e.cause instanceof Error ? e.cause.stack : inspect(e.cause)}\n`);
  return e.exitCode ?? EXIT_CODES.internal;
}

/** Wraps a command action: builds the runtime, runs, maps errors to exit codes. */
export function action<A extends unknown[]>(fn: (rt: Runtime, globals: GlobalOptions, ...args: A) => Promise<void> | void) {
  return async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    const globals = globalsOf(cmd);
    try {
      await fn(createRuntime(globals), globals, ...(args.slice(0, -1) as A));
    } catch (err) {
      process.exitCode = fail(err, Boolean(globals.json));
    }
  };
}

/** Collects a repeatable option into an array. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
