import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { InvalidInputError } from '../../core/errors';
import { parseSerial } from '../../core/serial';
import { REVOCATION_REASONS, type RevocationReason } from '../../core/types';
import { action, emit, note } from '../runtime';

/** `certctl revoke SERIAL...`: marks certificates revoked, all or none; the next `crl` lists them. */
export function registerRevoke(program: Command): void {
  program
    .command('revoke')
    .description('revoke certificates (all or none); they appear on the next CRL')
    .argument('<serial...>', 'serials as `openssl x509 -serial` prints them; "-" reads them from stdin, one per line')
    .option('--reason <reason>', `reason: ${REVOCATION_REASONS.join('|')}`, 'unspecified')
    .addHelpText(
      'after',
      `
Several serials are revoked all or none.

Examples:
  certctl revoke 3AF10B… --reason keyCompromise
  certctl list --json | jq -r '.result[] | select(.profile=="node") | .serial' | certctl revoke - --reason cessationOfOperation
  certctl crl > ca.crl`,
    )
    .action(
      action(async ({ service }, globals, serialTexts: string[], opts: { reason: string }) => {
        if (!REVOCATION_REASONS.includes(opts.reason as RevocationReason)) {
          throw new InvalidInputError(`--reason ${opts.reason} is not known; choose ${REVOCATION_REASONS.join(', ')}`);
        }
        const texts = serialTexts.flatMap((t) =>
          t === '-'
            ? readFileSync(0, 'utf8')
                .split(/\r?\n/)
                .filter((l) => l.trim())
            : [t],
        );
        if (texts.length === 0) throw new InvalidInputError('no serials given (stdin was empty)');
        const records = await service.revoke(texts.map(parseSerial), opts.reason as RevocationReason);
        note(
          globals,
          `revoked ${records.length === 1 ? records[0].serial : `${records.length} certificates`} (${opts.reason}); publish a new CRL with \`certctl crl\``,
        );
        emit(globals, records.length === 1 && texts.length === 1 && serialTexts[0] !== '-' ? records[0] : records);
      }),
    );
}
