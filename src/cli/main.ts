import { Command, CommanderError, Option } from 'commander';
import { registerAcme } from './commands/acme';
import { registerAgent } from './commands/agent';
import { registerCa } from './commands/ca';
import { registerCheck } from './commands/check';
import { registerCrl } from './commands/crl';
import { registerEnroll } from './commands/enroll';
import { registerExport } from './commands/export';
import { registerInit } from './commands/init';
import { registerIssue } from './commands/issue';
import { registerList } from './commands/list';
import { registerMigrate } from './commands/migrate';
import { registerRenew } from './commands/renew';
import { registerRevoke } from './commands/revoke';
import { registerServe } from './commands/serve';
import { registerShow } from './commands/show';
import { registerSign } from './commands/sign';
import { registerToken } from './commands/token';
import { fail } from './runtime';
import { InvalidInputError } from '../core/errors';

/** The commands, by the name each registers (test/unit/cli/main.test.ts checks the names). */
export const COMMANDS: readonly (readonly [string, (program: Command) => void])[] = [
  ['init', registerInit],
  ['ca', registerCa],
  ['issue', registerIssue],
  ['sign', registerSign],
  ['list', registerList],
  ['show', registerShow],
  ['revoke', registerRevoke],
  ['crl', registerCrl],
  ['renew', registerRenew],
  ['check', registerCheck],
  ['export', registerExport],
  ['migrate', registerMigrate],
  ['serve', registerServe],
  ['acme', registerAcme],
  ['agent', registerAgent],
  ['token', registerToken],
  ['enroll', registerEnroll],
];

/** Global options that take a value: their value is not the command name. */
const GLOBAL_VALUE_OPTIONS = new Set(['--config', '--backend', '--ca', '--passphrase-file']);

/** The first word of argv (after node and the script) that is not a global option or its value. */
function commandName(argv: readonly string[]): string | undefined {
  for (let i = 2; i < argv.length; i++) {
    const arg = argv[i];
    if (GLOBAL_VALUE_OPTIONS.has(arg)) i++;
    else if (!arg.startsWith('-')) return arg;
  }
  return undefined;
}

/**
 * Builds the certctl command tree: every command, or only the one `argv` names.
 */
export function buildProgram(argv: readonly string[] = []): Command {
  const { registry } = require('../backends') as typeof import('../backends');
  const program = new Command('certctl')
    .description('a certificate authority that keeps its keys where you choose: a directory, Vault or Barbican')
    .version((require('../../package.json') as typeof import('../../package.json')).version)
    .option('--config <file>', 'config file (default: $CERTCTL_CONFIG, ./certctl.yaml, $XDG_CONFIG_HOME/certctl/config.yaml)')
    .addOption(new Option('--backend <name>', `where keys live: ${registry.namesList()} (default from the config, else ${registry.defaultName})`))
    .option('--ca <name>', 'which CA of the store (default: "default")')
    .option('--json', 'machine-readable output: {"status": N, "result"|"error": …}')
    .option('--passphrase-file <file>', 'CA key passphrase (or CERTCTL_CA_PASSPHRASE)')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      `
Examples:
  certctl init --cn "Demo CA"
  certctl issue server --cn localhost --dns localhost --ip 127.0.0.1 --out tls/
  certctl sign --csr client.csr > client.crt
  certctl ca show > ca.crt
  certctl check --expiring 14d && echo "nothing expires within 14 days"

Exit codes: 0 ok, 1 internal, 2 invalid input, 3 invalid config, 4 not found, 5 policy violation,
6 backend unavailable (retry), 7 backend auth, 8 conflict, 9 not supported;
outcomes: 10 check: something expires within the window, 11 renew --expiring: some renewals failed,
12 agent --once: renewed, but the --exec hook failed.`,
    );
  // Only the command named on the line is built when there is one (each takes ~0.1 ms of
  // options and help text, ~1.5 ms for all); `certctl`, `--help`, `help` and a misspelt name get all.
  const named = COMMANDS.find(([name]) => name === commandName(argv));
  for (const [, register] of named ? [named] : COMMANDS) register(program);
  program.commands.forEach(function applyGlobals(cmd: Command) {
    cmd.exitOverride();
    cmd.commands.forEach(applyGlobals);
  });
  program.exitOverride();
  return program;
}

/** Runs certctl with argv; resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram(argv);
  const json = argv.includes('--json');
  if (json) program.configureOutput({ writeErr: () => undefined });
  try {
    await program.parseAsync(argv);
    return Number(process.exitCode ?? 0);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
      // Usage errors (unknown option, missing argument) are invalid input: exit 2.
      return fail(new InvalidInputError(err.message.replace(/^error: /, '')), json);
    }
    return fail(err, json);
  }
}
