import type { Command } from 'commander';
import { InvalidInputError } from '../../core/errors';
import { parseSerial } from '../../core/serial';
import { stageFiles } from '../../core/fs-atomic';
import { checkOutDir, checkOutFile, fullChainOf, k8sName, k8sSecret, layoutFiles, rootOf } from '../output/layouts';
import { p12Bundle, p12Password } from '../output/p12';
import { action, emit, note } from '../runtime';

const EXPORT_FORMATS = ['pem', 'p12', 'k8s'] as const;

/** `certctl export SERIAL`: writes a stored certificate (and its key, when held) again. */
export function registerExport(program: Command): void {
  program
    .command('export')
    .description('write a stored certificate in a deployable format')
    .argument('<serial>', 'serial of the certificate')
    .requiredOption('--format <format>', `${EXPORT_FORMATS.join('|')}`)
    .requiredOption('--out <path>', 'pem: a directory; p12 and k8s: a file')
    .option('--password-file <file>', 'PKCS#12 password; or CERTCTL_P12_PASSWORD')
    .addHelpText(
      'after',
      `
Examples:
  certctl export 3AF10B… --format pem --out tls/
  certctl export 3AF10B… --format p12 --password-file pw.txt --out client.p12
  certctl export 3AF10B… --format k8s --out secret.yaml && kubectl apply -f secret.yaml`,
    )
    .action(
      action(async ({ service }, globals, serialText: string, opts: { format: string; out: string; passwordFile?: string }) => {
        if (!EXPORT_FORMATS.includes(opts.format as (typeof EXPORT_FORMATS)[number])) {
          throw new InvalidInputError(`--format ${opts.format} is not an export format; choose ${EXPORT_FORMATS.join(', ')}`);
        }
        const serial = parseSerial(serialText);
        if (opts.format === 'pem') checkOutDir(opts.out);
        else checkOutFile(opts.out);
        const { record, certPem, ca } = await service.requireCertificate(serial);
        const password = opts.format === 'p12' ? p12Password(opts.passwordFile) : undefined;
        const keyPem = opts.format === 'pem' ? (record.hasKey ? await service.requireKey(serial) : undefined) : await service.requireKey(serial);
        const item = { record, certPem, keyPem };
        let files;
        if (opts.format === 'pem') {
          files = layoutFiles('pem', opts.out, item, ca);
          if (!keyPem) note(globals, `note: the store holds no key for ${serial} (signed from a CSR); key.pem not written`);
        } else {
          const data =
            opts.format === 'p12'
              ? await p12Bundle(item, ca, password as string)
              : k8sSecret(k8sName(record.commonName || record.dnsNames[0] || '', serial.toLowerCase()), fullChainOf(certPem, ca), keyPem as string, rootOf(ca));
          files = [{ path: opts.out, data, mode: 0o600 }];
        }
        stageFiles(files).commit();
        note(globals, `exported ${serial} as ${opts.format}: ${files.map((f) => f.path).join(', ')}`);
        emit(globals, { serial, format: opts.format, files: files.map((f) => f.path) });
      }),
    );
}
