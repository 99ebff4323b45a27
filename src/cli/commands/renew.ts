import type { Command } from 'commander';
import { parseDuration } from '../../core/duration';
import { parseSerial } from '../../core/serial';
import { outputDelivery, outputSpec } from '../output/delivery';
import { withKubeconfigOptions } from '../output/kubeconfig';
import { FORMATS, checkOutDir } from '../output/layouts';
import { action, emit, note } from '../runtime';

/** `certctl renew SERIAL`: same subject, SANs and profile; new key, new serial. */
export function registerRenew(program: Command): void {
  withKubeconfigOptions(program.command('renew'))
    .description('re-issue a certificate with the same subject, SANs and profile, a new key and a new serial')
    .argument('<serial>', 'serial of the certificate to renew')
    .requiredOption('--out <dir>', 'directory to write the new files to')
    .option('--format <format>', `layout: ${FORMATS.join('|')}`, 'pem')
    .option('--ttl <duration>', 'validity (default: the same as the old certificate, within the profile maximum)')
    .option('--password-file <file>', 'PKCS#12 password (with --format p12); or CERTCTL_P12_PASSWORD')
    .addHelpText(
      'after',
      `
The old certificate stays valid; revoke it with --reason superseded once the new one is deployed.

Example:
  certctl renew 3AF10B… --out tls/ && certctl revoke 3AF10B… --reason superseded`,
    )
    .action(
      action(
        async (
          { service },
          globals,
          serialText: string,
          opts: { out: string; format: string; ttl?: string; passwordFile?: string; server?: string; clusterName?: string },
        ) => {
          const spec = outputSpec(opts, service.caName);
          checkOutDir(opts.out);
          let files: string[] = [];
          const delivery = outputDelivery(spec, opts.out, (paths) => (files = paths));
          const result = await service.renew(parseSerial(serialText), opts.ttl ? parseDuration(opts.ttl, '--ttl') : undefined, delivery);
          result.warnings.forEach((w) => note(globals, `warning: ${w}`));
          const item = result.items[0];
          note(globals, `renewed ${parseSerial(serialText)} as ${item.record.serial} (until ${item.record.notAfter}); wrote ${files.join(', ')}`);
          emit(globals, { renewed: parseSerial(serialText), certificate: item.record, files });
        },
      ),
    );
}
