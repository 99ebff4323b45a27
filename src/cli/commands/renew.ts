import type { Command } from 'commander';
import { parseDuration } from '../../core/duration';
import { InvalidInputError } from '../../core/errors';
import { parseSerial } from '../../core/serial';
import { OUT_TEMPLATE_PLACEHOLDERS } from '../out-template';
import { outputDelivery, outputSpec } from '../output/delivery';
import { withKubeconfigOptions } from '../output/kubeconfig';
import { FORMATS, checkOutDir } from '../output/layouts';
import { OUTCOME_CODES, action, emit, note, type GlobalOptions, type Runtime } from '../runtime';
import { renewExpiring, type RenewExpiringFlags } from './renew-expiring';

type RenewFlags = Partial<RenewExpiringFlags> & { format: string; out?: string };

/** `certctl renew SERIAL` (same subject, SANs and profile; new key, new serial), or every certificate expiring soon. */
export function registerRenew(program: Command): void {
  withKubeconfigOptions(program.command('renew'))
    .description('re-issue a certificate (or, with --expiring, every one expiring soon) with the same subject, SANs and profile, a new key and a new serial')
    .argument('[serial]', 'serial of the certificate to renew')
    .option('--out <dir>', 'directory to write the new files to (with SERIAL)')
    .option('--expiring <duration>', 'renew every valid certificate expiring within this window, e.g. 30d (instead of SERIAL)')
    .option('--profile <profile>', 'with --expiring: only certificates of this profile')
    .option('--out-template <path>', `with --expiring: a directory per certificate, with ${OUT_TEMPLATE_PLACEHOLDERS.map((p) => `{${p}}`).join(' ')}`)
    .option('--dry-run', 'with --expiring: list what would be renewed, and where, without renewing')
    .option('--format <format>', `layout: ${FORMATS.join('|')}`, 'pem')
    .option('--ttl <duration>', 'validity (default: the same as the old certificate, within the profile maximum)')
    .option('--password-file <file>', 'PKCS#12 password (with --format p12); or CERTCTL_P12_PASSWORD')
    .addHelpText(
      'after',
      `
The old certificate stays valid; revoke it with --reason superseded once the new one is deployed.

--expiring renews what \`certctl check --expiring\` lists: valid, not revoked, expiring within the
window and not already renewed (a later certificate with the same profile and names exists; those
are skipped, so running it again renews nothing twice). Revoked certificates are never renewed in
bulk: renew one by its serial if it is still wanted. Each certificate is renewed all-or-nothing;
a failure (e.g. its directory cannot be written, or its CN cannot be a directory name for {cn})
is reported and the others go on. {serial} is the serial being renewed.
Exit codes: 0 all renewed (or nothing to do), ${OUTCOME_CODES.someFailed} some failed (the summary names them and why),
2-9 nothing was renewed (bad flags, or two certificates mapped to one directory).

Examples:
  certctl renew 3AF10B… --out tls/ && certctl revoke 3AF10B… --reason superseded
  certctl renew --expiring 30d --out-template 'certs/{cn}/' --dry-run
  certctl renew --expiring 30d --profile server --out-template 'certs/{cn}/' --json`,
    )
    .action(action(runRenew));
}

/** Runs `renew`: one serial into --out, or (no serial) every certificate expiring within --expiring. */
async function runRenew(rt: Runtime, globals: GlobalOptions, serialText: string | undefined, opts: RenewFlags): Promise<void> {
  if (serialText === undefined) {
    if (opts.expiring === undefined) throw new InvalidInputError('renew needs a SERIAL, or --expiring DURATION --out-template PATH');
    if (opts.out !== undefined) throw new InvalidInputError("--out is for renew SERIAL; with --expiring give --out-template, e.g. 'certs/{cn}/'");
    if (opts.outTemplate === undefined) throw new InvalidInputError("--expiring needs --out-template, e.g. 'certs/{cn}/'");
    return renewExpiring(rt, globals, opts as RenewExpiringFlags);
  }
  for (const [flag, value] of [
    ['--expiring', opts.expiring],
    ['--out-template', opts.outTemplate],
    ['--profile', opts.profile],
    ['--dry-run', opts.dryRun],
  ] as const) {
    if (value !== undefined) throw new InvalidInputError(`${flag} renews by expiry and takes no SERIAL`);
  }
  if (opts.out === undefined) throw new InvalidInputError('renew SERIAL needs --out DIR');
  const { service } = rt;
  const spec = outputSpec(opts, service.caName);
  checkOutDir(opts.out);
  let files: string[] = [];
  const delivery = outputDelivery(spec, opts.out, (paths) => (files = paths));
  const result = await service.renew(parseSerial(serialText), opts.ttl ? parseDuration(opts.ttl, '--ttl') : undefined, delivery);
  result.warnings.forEach((w) => note(globals, `warning: ${w}`));
  const item = result.items[0];
  note(globals, `renewed ${parseSerial(serialText)} as ${item.record.serial} (until ${item.record.notAfter}); wrote ${files.join(', ')}`);
  emit(globals, { renewed: parseSerial(serialText), certificate: item.record, files });
}
