import type { Command } from 'commander';
import { InvalidInputError } from '../../core/errors';
import { parseSerial } from '../../core/serial';
import { stageFiles } from '../../core/fs-atomic';
import { kubeconfigTarget, withKubeconfigOptions } from '../output/kubeconfig';
import { checkOutDir, checkOutFile, fullChainOf, k8sName, k8sSecret, layoutFiles, rootOf } from '../output/layouts';
import { p12Bundle, p12Password } from '../output/p12';
import { action, emit, note, type GlobalOptions, type Runtime } from '../runtime';

const EXPORT_FORMATS = ['pem', 'p12', 'k8s', 'kubeconfig'] as const;
/** Formats whose --out is a directory (the others write one file). */
const DIRECTORY_FORMATS: readonly string[] = ['pem', 'kubeconfig'];

/** `certctl export SERIAL`: writes a stored certificate (and its key, when held) again. */
export function registerExport(program: Command): void {
  withKubeconfigOptions(program.command('export'))
    .description('write a stored certificate in a deployable format')
    .argument('<serial>', 'serial of the certificate')
    .requiredOption('--format <format>', `${EXPORT_FORMATS.join('|')}`)
    .requiredOption('--out <path>', 'pem and kubeconfig: a directory; p12 and k8s: a file')
    .option('--password-file <file>', 'PKCS#12 password; or CERTCTL_P12_PASSWORD')
    .addHelpText(
      'after',
      `
Examples:
  certctl export 3AF10B… --format pem --out tls/
  certctl export 3AF10B… --format p12 --password-file pw.txt --out client.p12
  certctl export 3AF10B… --format k8s --out secret.yaml && kubectl apply -f secret.yaml
  certctl export 3AF10B… --format kubeconfig --server https://api.example:6443 --out kube/ && kubectl --kubeconfig kube/kubeconfig get nodes`,
    )
    .action(action(runExport));
}

interface ExportOptions {
  format: string;
  out: string;
  passwordFile?: string;
  server?: string;
  clusterName?: string;
}

/** Runs `export`: validates the flags, then writes one stored certificate in a layout. */
async function runExport({ service }: Runtime, globals: GlobalOptions, serialText: string, opts: ExportOptions): Promise<void> {
  if (!EXPORT_FORMATS.includes(opts.format as (typeof EXPORT_FORMATS)[number])) {
    throw new InvalidInputError(`--format ${opts.format} is not an export format; choose ${EXPORT_FORMATS.join(', ')}`);
  }
  const kubeconfig = kubeconfigTarget(opts.format, opts, service.caName);
  const serial = parseSerial(serialText);
  if (DIRECTORY_FORMATS.includes(opts.format)) checkOutDir(opts.out);
  else checkOutFile(opts.out);
  const { record, certPem, ca } = await service.requireCertificate(serial);
  const password = opts.format === 'p12' ? p12Password(opts.passwordFile) : undefined;
  const keyPem = opts.format === 'pem' ? (record.hasKey ? await service.requireKey(serial) : undefined) : await service.requireKey(serial);
  const item = { record, certPem, keyPem };
  let files;
  if (opts.format === 'pem') {
    files = layoutFiles('pem', opts.out, item, ca);
    if (!keyPem) note(globals, `note: the store holds no key for ${serial} (signed from a CSR); key.pem not written`);
  } else if (opts.format === 'kubeconfig') {
    files = layoutFiles('kubeconfig', opts.out, item, ca, { kubeconfig });
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
}
