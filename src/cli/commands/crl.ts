import type { Command } from 'commander';
import { action, emit } from '../runtime';

/** `certctl crl`: a freshly signed CRL on stdout. */
export function registerCrl(program: Command): void {
  program
    .command('crl')
    .description('print a freshly signed PEM CRL of every revoked certificate')
    .addHelpText(
      'after',
      `
Example:
  certctl crl > ca.crl && openssl crl -in ca.crl -CAfile <(certctl ca show) -noout`,
    )
    .action(
      action(async ({ service }, globals) => {
        const pem = await service.crl();
        emit(globals, { crl: pem }, pem);
      }),
    );
}
