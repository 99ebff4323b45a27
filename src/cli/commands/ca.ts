import type { Command } from 'commander';
import { action, emit } from '../runtime';

/** `certctl ca show`: the CA certificate PEM (Magnum's ca-show). */
export function registerCa(program: Command): void {
  const ca = program.command('ca').description('show the CA');
  ca.command('show')
    .description('print the CA certificate PEM on stdout; --chain adds the certificates above it')
    .option('--chain', 'append the chain up to the root')
    .addHelpText(
      'after',
      `
Examples:
  certctl ca show > ca.crt
  certctl --ca issuing ca show --chain > bundle.pem`,
    )
    .action(
      action(async ({ service }, globals, opts: { chain?: boolean }) => {
        const record = await service.requireCa();
        const pem = opts.chain ? [record.certPem, ...record.chainPem].join('') : record.certPem;
        emit(globals, { ca: record.name, certificate: record.certPem, chain: record.chainPem }, pem);
      }),
    );
}
