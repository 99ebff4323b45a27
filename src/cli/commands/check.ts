import type { Command } from 'commander';
import { formatDuration } from '../../core/duration';
import { expiringEntry, expiringLine, parseExpiryFlags } from '../expiry-flags';
import { OUTCOME_CODES, action, emit, note } from '../runtime';
import { plural } from '../../core/text';

/** `certctl check --expiring D`: a monitoring check; exit 10 when something expires within D. */
export function registerCheck(program: Command): void {
  program
    .command('check')
    .description(`monitoring: exit 0 when no valid certificate expires within the window, ${OUTCOME_CODES.expiring} when one does (listed)`)
    .requiredOption('--expiring <duration>', 'the window, e.g. 14d')
    .option('--profile <profile>', 'only certificates of this profile')
    .addHelpText(
      'after',
      `
Counts valid, not revoked certificates whose notAfter falls within the window; one already renewed
(a later certificate with the same profile and names exists) is not counted, nor one already expired.
Prints one line per certificate on stdout, soonest first; nothing when all is well.

Exit codes: 0 nothing expires in the window, ${OUTCOME_CODES.expiring} something does, 1-9 the check could not run
(see certctl --help).

Examples:
  certctl check --expiring 14d
  certctl check --expiring 30d --profile server --json | jq -r '.result.expiring[].serial'
  0 7 * * *  certctl check --expiring 14d 2>/dev/null     # crontab: mail only when something expires`,
    )
    .action(
      action(async ({ service, config }, globals, opts: { expiring: string; profile?: string }) => {
        const flags = parseExpiryFlags(opts, config);
        const now = new Date();
        const report = await service.expiring(flags.windowSeconds, flags.profile, now);
        const expiring = report.expiring.map((r) => expiringEntry(r, now));
        const renewed = report.renewed.map(({ record, by }) => ({ serial: record.serial, renewedBy: by }));
        const window = formatDuration(flags.windowSeconds);
        if (expiring.length === 0) note(globals, `ok: nothing expires within ${window}${renewed.length ? ` (${renewed.length} already renewed)` : ''}`);
        else note(globals, `${plural(expiring.length, 'certificate')} expire${expiring.length === 1 ? 's' : ''} within ${window}`);
        emit(globals, { window, expiring, renewed }, expiring.map(expiringLine).join('\n'), expiring.length ? OUTCOME_CODES.expiring : 0);
      }),
    );
}
