import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { parseDuration } from '../../core/duration';
import { InvalidInputError } from '../../core/errors';
import { LEAF_PROFILES } from '../../core/types';
import { action, emit, note } from '../runtime';

/** `certctl sign --csr FILE`: signs a CSR, certificate PEM on stdout (Magnum's ca-sign). */
export function registerSign(program: Command): void {
  program
    .command('sign')
    .description('sign a PKCS#10 CSR; the certificate PEM goes to stdout')
    .requiredOption('--csr <file>', 'the CSR (PEM); "-" reads stdin')
    .option('--profile <profile>', `profile: ${LEAF_PROFILES.join('|')} or a custom one of certctl.yaml's profiles:`, 'client')
    .option('--ttl <duration>', 'validity, e.g. 365d (default from the profile)')
    .addHelpText(
      'after',
      `
Only the CSR's subject CN, its DNS/IP/URI/email SANs (URI and email where the profile's
allowed_uris/allowed_emails allow them), its subject O/OU/C/ST/L/serialNumber where the
profile's allowed_* keys allow them (else dropped with a warning) and its public key are
used; its CA bit, key usages and extended key usages are never honoured: the profile decides them.

Examples:
  certctl sign --csr client.csr > client.crt
  certctl sign --csr server.csr --profile server --ttl 90d > server.crt`,
    )
    .action(
      action(async ({ service }, globals, opts: { csr: string; profile: string; ttl?: string }) => {
        let pem: string;
        try {
          pem = readFileSync(opts.csr === '-' ? 0 : opts.csr, 'utf8');
        } catch (err) {
          throw new InvalidInputError(`--csr: cannot read ${opts.csr} (${(err as NodeJS.ErrnoException).code ?? 'error'}); give the path of a PEM CSR`, {
            cause: err,
          });
        }
        const ttl = opts.ttl ? parseDuration(opts.ttl, '--ttl') : undefined;
        const result = await service.signCsr(pem, opts.profile, ttl, `--csr ${opts.csr}`);
        const item = result.items[0];
        result.warnings.forEach((w) => note(globals, `warning: ${w}`));
        note(globals, `signed ${item.record.profile} certificate ${item.record.serial} (CN=${item.record.commonName})`);
        emit(globals, { ...item.record, certificate: item.certPem }, item.certPem);
      }),
    );
}
