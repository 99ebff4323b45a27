import type { Command } from 'commander';
import { InvalidInputError } from '../../core/errors';
import { parseSerial } from '../../core/serial';
import { REVOCATION_REASONS, type RevocationReason } from '../../core/types';
import { action, emit, note } from '../runtime';

/** `certctl revoke SERIAL`: marks a certificate revoked; the next `crl` lists it. */
export function registerRevoke(program: Command): void {
  program
    .command('revoke')
    .description('revoke a certificate; it appears on the next CRL')
    .argument('<serial>', 'serial as `openssl x509 -serial` prints it')
    .option('--reason <reason>', `reason: ${REVOCATION_REASONS.join('|')}`, 'unspecified')
    .addHelpText('after', `
Examples:
  certctl revoke 3AF10B… --reason keyCompromise
  certctl crl > ca.crl`)
    .action(
      action(async ({ service }, globals, serialText: string, opts: { reason: string }) => {
        if (!REVOCATION_REASONS.includes(opts.reason as RevocationReason)) {
          throw new InvalidInputError(`--reason ${opts.reason} is not known; choose ${REVOCATION_REASONS.join(', ')}`);
        }
        const record = await service.revoke(parseSerial(serialText), opts.reason as RevocationReason);
        note(globals, `revoked ${record.serial} (${record.revocationReason}); publish a new CRL with \`certctl crl\``);
        emit(globals, record);
      }),
    );
}
