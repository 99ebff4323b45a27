import type { Command } from 'commander';
import { parseDuration } from '../../core/duration';
import { InvalidInputError } from '../../core/errors';
import { secretSource } from '../../core/secrets';
import { KEY_TYPES, type KeyType } from '../../core/types';
import { outputDelivery, outputSpec } from '../output/delivery';
import { FORMATS, checkOutDir } from '../output/layouts';
import { emit, fail, globalsOf, note, type GlobalOptions } from '../runtime';

interface EnrollOptions {
  server: string;
  token?: string;
  tokenFile?: string;
  caFingerprint: string;
  out: string;
  format: string;
  keyType: string;
  passwordFile?: string;
  kubeServer?: string;
  clusterName?: string;
  timeout: string;
}

/** `certctl enroll`: a node without a certificate gets one from `certctl serve` with a one-time token. */
export function registerEnroll(program: Command): void {
  program
    .command('enroll')
    .description('get a certificate from certctl serve with a one-time token: the key is made here, the files written in a layout')
    .requiredOption('--server <url>', 'the certctl server, https://HOST:PORT')
    .option('--token <token>', 'the enrollment token (visible to other users in ps: prefer --token-file or CERTCTL_TOKEN)')
    .option('--token-file <file>', 'read the token from the first line of this file; or set CERTCTL_TOKEN')
    .requiredOption('--ca-fingerprint <sha256>', 'SHA-256 of the CA certificate as `openssl x509 -noout -fingerprint -sha256` prints it (colons optional)')
    .requiredOption('--out <dir>', 'directory to write the key and certificates to (created 0700; the key 0600)')
    .option('--format <format>', `layout: ${FORMATS.join('|')}`, 'pem')
    .option('--key-type <type>', `key type: ${KEY_TYPES.join('|')}`, 'ec-p256')
    .option('--password-file <file>', 'PKCS#12 password (with --format p12); or CERTCTL_P12_PASSWORD')
    .option('--kube-server <url>', 'Kubernetes API server, https://HOST:PORT (with --format kubeconfig)')
    .option('--cluster-name <name>', 'cluster name in the kubeconfig (default: the CA name)')
    .option('--timeout <duration>', 'how long to wait for the server', '30s')
    .addHelpText(
      'after',
      `
The token (from \`certctl token create\` on the CA host) names the CA, the profile and the names;
the CA certificate is fetched from the server and accepted only if its SHA-256 fingerprint is the
one given, before the token is sent. The key never leaves this host. A token works once: a second
enrollment with it is refused (exit 7), as is an expired one. No certctl.yaml is needed here.

Examples:
  certctl enroll --server https://ca.example:8443 --token-file node7.token --ca-fingerprint AB:CD:…:EF \\
      --out /etc/docker/ --format docker
  CERTCTL_TOKEN=$(cat node7.token) certctl enroll --server https://ca.example:8443 --ca-fingerprint ABCD…EF --out tls/`,
    )
    .action(async (opts: EnrollOptions, cmd: Command) => {
      const globals = globalsOf(cmd);
      try {
        await runEnroll(globals, opts);
      } catch (err) {
        process.exitCode = fail(err, Boolean(globals.json));
      }
    });
}

/** Runs `enroll`: every flag checked before the server is contacted, then the enrollment, then the files. */
async function runEnroll(globals: GlobalOptions, opts: EnrollOptions): Promise<void> {
  const token = tokenOf(opts);
  const { readGrant } = require('../../core/enrollment-token') as typeof import('../../core/enrollment-token');
  const grant = readGrant(token);
  if (!KEY_TYPES.includes(opts.keyType as KeyType)) throw new InvalidInputError(`--key-type ${opts.keyType} is not supported; choose ${KEY_TYPES.join(', ')}`);
  const spec = outputSpec(
    { format: opts.format, passwordFile: opts.passwordFile, server: opts.kubeServer, clusterName: opts.clusterName },
    grant.ca,
    '--kube-server',
  );
  checkOutDir(opts.out);
  const timeoutMs = parseDuration(opts.timeout, '--timeout') * 1000;
  const { enroll } = require('../../client/enroll') as typeof import('../../client/enroll');
  const { result } = await enroll({ server: opts.server, token, caFingerprint: opts.caFingerprint, keyType: opts.keyType as KeyType, timeoutMs });
  let files: string[] = [];
  const staged = await outputDelivery(spec, opts.out, (paths) => (files = paths))(result);
  await staged.commit();
  result.warnings.forEach((w) => note(globals, `warning: ${w}`));
  const item = result.items[0].record;
  note(globals, `enrolled: ${item.profile} certificate ${item.serial} from CA "${result.ca.name}" (until ${item.notAfter})\nwrote ${files.join(', ')}`);
  emit(globals, { certificate: item, ca: result.ca.name, files });
}

/**
 * The token: --token, else --token-file, else CERTCTL_TOKEN.
 * @throws InvalidInputError when none or both flags are given, or the file is unreadable.
 */
function tokenOf(opts: EnrollOptions): string {
  if (opts.token !== undefined && opts.tokenFile !== undefined) throw new InvalidInputError('give the token once: --token or --token-file');
  const token = opts.token ?? secretSource(opts.tokenFile, '--token-file', 'CERTCTL_TOKEN', process.env).get();
  if (!token) throw new InvalidInputError('enroll needs a token: --token-file FILE, CERTCTL_TOKEN, or --token');
  return token.trim();
}
