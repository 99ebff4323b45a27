import type { Command } from 'commander';
import { parseDuration } from '../../core/duration';
import { InvalidInputError } from '../../core/errors';
import { leafProfile } from '../../core/policy/profiles';
import { KEY_TYPES, LEAF_PROFILES, type IssuedCertificate, type KeyType } from '../../core/types';
import { outputDelivery, outputSpec } from '../output/delivery';
import { withKubeconfigOptions } from '../output/kubeconfig';
import { FORMATS, checkOutDir } from '../output/layouts';
import { action, collect, emit, note, type GlobalOptions, type Runtime } from '../runtime';
import { addNameOptions, subjectFlags, type NameOptions } from './name-options';

interface IssueOptions extends NameOptions {
  cn?: string;
  dns?: string[];
  ip?: string[];
  ttl?: string;
  keyType?: string;
  out?: string;
  format: string;
  count: string;
  passwordFile?: string;
  server?: string;
  clusterName?: string;
}

/** `certctl issue PROFILE`: new keys + certificates, kept in the store and, with --out, written there in a deployable layout. */
export function registerIssue(program: Command): void {
  const issue = withKubeconfigOptions(program.command('issue'))
    .description('issue a certificate with a new key; with --out, also write it there in a layout (else `certctl export` writes it later)')
    .argument('<profile>', `profile: ${LEAF_PROFILES.join('|')} or a custom one of certctl.yaml's profiles:`)
    .option('--cn <name>', 'subject common name (node: defaults to a new UUID)')
    .option('--dns <name>', 'DNS subject alternative name (repeatable)', collect)
    .option('--ip <addr>', 'IP subject alternative name (repeatable)', collect)
    .option('--ttl <duration>', 'validity, e.g. 90d (default from the profile)')
    .option('--key-type <type>', `key type: ${KEY_TYPES.join('|')}`)
    .option('--out <dir>', 'directory to write the files to (without it they stay in the store only; `certctl export` writes them later)')
    .option('--format <format>', `layout: ${FORMATS.join('|')}`, 'pem')
    .option('--count <n>', 'issue N certificates (node fleet bootstrap)', '1')
    .option('--password-file <file>', 'PKCS#12 password (with --format p12); or CERTCTL_P12_PASSWORD')
    .addHelpText(
      'after',
      `
Examples:
  certctl issue server --cn api.example.com --dns api.example.com --ip 10.0.0.5 --out tls/
  certctl issue server --cn $HOST --dns $HOST --ip 127.0.0.1 --format docker --out /etc/docker/tls
  certctl issue client --cn alice --format p12 --password-file pw.txt --out alice/
  certctl issue client --cn admin --format kubeconfig --server https://api.example:6443 --out kube/
  certctl issue node --count 50 --format flocker --out nodes/
  certctl issue node --count 10000          # keys and certificates kept in the store only`,
    )
    .action(action(runIssue));
  addNameOptions(issue);
}

/** Runs `issue`: validates every flag, then issues and writes the layout. */
async function runIssue({ service, config }: Runtime, globals: GlobalOptions, profile: string, opts: IssueOptions): Promise<void> {
  const chosen = leafProfile(config.profiles, profile, 'issue');
  const spec = outputSpec(opts, service.caName);
  if (spec.kubeconfig && !chosen.extKeyUsage.includes('clientAuth')) {
    throw new InvalidInputError(`--format kubeconfig needs a certificate with clientAuth; ${profile} has none (use client, peer or node)`);
  }
  if (opts.keyType && !KEY_TYPES.includes(opts.keyType as KeyType)) {
    throw new InvalidInputError(`--key-type ${opts.keyType} is not supported; choose ${KEY_TYPES.join(', ')}`);
  }
  if (!/^\d+$/.test(opts.count)) throw new InvalidInputError(`--count must be a whole number from 1 to 100000, not "${opts.count}"`);
  const count = Number(opts.count);
  if (opts.out) checkOutDir(opts.out);
  else if (opts.format !== 'pem' || opts.passwordFile) throw new InvalidInputError('--format and --password-file need --out DIR');
  const bar = count > 1 && process.stderr.isTTY && !globals.json ? progressBar(count) : undefined;
  let files: string[] = [];
  const result = await service.issue(
    {
      profile,
      commonName: opts.cn,
      subject: subjectFlags(opts),
      dnsNames: opts.dns,
      ipAddresses: opts.ip,
      uris: opts.uri,
      emails: opts.email,
      ttlSeconds: opts.ttl ? parseDuration(opts.ttl, '--ttl') : undefined,
      keyType: opts.keyType as KeyType | undefined,
      count,
      onProgress: bar ? (done) => bar.update(done) : undefined,
    },
    opts.out ? outputDelivery(spec, opts.out, (paths) => (files = paths)) : undefined,
  );
  bar?.stop();
  result.warnings.forEach((w) => note(globals, `warning: ${w}`));
  reportIssued(globals, result.items, files, opts.out);
}

function reportIssued(globals: GlobalOptions, items: IssuedCertificate[], files: string[], out: string | undefined): void {
  const result = {
    certificates: items.map((i) => ({ ...i.record })),
    files,
  };
  const where = out
    ? `wrote ${files.length === 1 || items.length === 1 ? files.join(', ') : `${files.length} files under ${out}`}`
    : 'kept in the store only; write them out with `certctl export SERIAL`';
  const human =
    items.length === 1
      ? `issued ${items[0].record.profile} certificate ${items[0].record.serial} (CN=${items[0].record.commonName}, until ${items[0].record.notAfter})\n${where}`
      : `issued ${items.length} ${items[0].record.profile} certificates; ${where}`;
  if (globals.json) emit(globals, result);
  else note(globals, human);
}

function progressBar(total: number) {
  const { SingleBar, Presets } = require('cli-progress') as typeof import('cli-progress');
  const bar = new SingleBar({ stream: process.stderr, format: 'issuing [{bar}] {value}/{total} {eta}s left', hideCursor: true }, Presets.shades_classic);
  bar.start(total, 0);
  return bar;
}
