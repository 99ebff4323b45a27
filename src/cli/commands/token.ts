import type { Command } from 'commander';
import { formatDuration, parseDuration } from '../../core/duration';
import { PolicyError } from '../../core/errors';
import { leafProfile } from '../../core/policy/profiles';
import { sha256Fingerprint } from '../../core/x509/fingerprint';
import { pemBlocks } from '../../core/x509/pem';
import { action, collect, emit, note, type GlobalOptions, type Runtime } from '../runtime';

interface CreateOptions {
  cn?: string;
  dns?: string[];
  ip?: string[];
  profile: string;
  ttl?: string;
}

/** A token's lifetime when --ttl is not given: long enough to hand it to a node, short enough not to linger. */
const DEFAULT_TTL = '15m';

/** `certctl token create|prune`: one-time enrollment tokens for `certctl enroll`, kept in the store. */
export function registerToken(program: Command): void {
  const token = program.command('token').description('one-time enrollment tokens for nodes without a certificate (certctl enroll)');
  token
    .command('create')
    .description('print a one-time token for one certificate of a profile with these names, alone on stdout')
    .requiredOption('--profile <profile>', 'the profile the certificate gets (server, client, peer, node or a custom one)')
    .option('--cn <name>', 'subject common name of the certificate')
    .option('--dns <name>', 'DNS name the certificate may carry (repeatable)', collect)
    .option('--ip <addr>', 'IP address the certificate may carry (repeatable)', collect)
    .option('--ttl <duration>', `how long the token can be used (default ${DEFAULT_TTL}; at most serve.tokens.max_ttl, default 24h)`)
    .addHelpText(
      'after',
      `
Run it where the CA's store is (like issue); the node redeems the token with \`certctl enroll\`
through \`certctl serve\`. The store keeps only the token's SHA-256, never the token: it is shown
once. It works once, until it expires, and only for these names and this profile.

Examples:
  certctl token create --profile server --cn node7.example --dns node7.example --ttl 15m > node7.token
  certctl enroll --server https://ca.example:8443 --token-file node7.token \\
      --ca-fingerprint "$(openssl x509 -in ca.crt -noout -fingerprint -sha256)" --out /etc/docker/ --format docker`,
    )
    .action(action(createToken));
  token
    .command('prune')
    .description('remove expired enrollment tokens (used ones stay until they expire, so a replay is told apart)')
    .action(
      action(async (rt, globals) => {
        const { ENROLLMENT_TOKENS, tokenStore } = require('../../core/enrollment-token') as typeof import('../../core/enrollment-token');
        const removed = await tokenStore(rt.store()).pruneState(ENROLLMENT_TOKENS, new Date());
        emit(globals, { removed }, `removed ${removed} expired enrollment token${removed === 1 ? '' : 's'}`);
      }),
    );
}

/** Runs `token create`: the token alone on stdout, what it allows and how to use it on stderr. */
async function createToken(rt: Runtime, globals: GlobalOptions, opts: CreateOptions): Promise<void> {
  const { service, config } = rt;
  const { createEnrollmentToken, describeGrant, tokenLabel, tokenStore } =
    require('../../core/enrollment-token') as typeof import('../../core/enrollment-token');
  const stateStore = tokenStore(rt.store());
  const profile = leafProfile(config.profiles, opts.profile, '--profile');
  const ttlSeconds = parseDuration(opts.ttl ?? DEFAULT_TTL, '--ttl');
  const { parseServeOptions } = require('../../server/config') as typeof import('../../server/config');
  const max = parseServeOptions(config).tokenMaxTtlSeconds;
  if (ttlSeconds > max) {
    throw new PolicyError(`--ttl ${opts.ttl} is longer than serve.tokens.max_ttl (${formatDuration(max)}); a shorter-lived token leaks less`);
  }
  const ca = await service.requireCa();
  const { token, id, grant } = await createEnrollmentToken(stateStore, {
    ca: ca.name,
    profile,
    commonName: opts.cn ?? '',
    dnsNames: opts.dns ?? [],
    ipAddresses: opts.ip ?? [],
    ttlSeconds,
  });
  const fingerprint = sha256Fingerprint(pemBlocks(ca.certPem, 'CERTIFICATE')[0]);
  note(
    globals,
    `${tokenLabel(id)}: ${describeGrant(grant)}; works once, until ${grant.expiresAt}\n` +
      `on the node: certctl enroll --server https://HOST:PORT --token-file FILE --ca-fingerprint ${fingerprint} --out DIR`,
  );
  emit(globals, { token, id, ...grant, caFingerprint: fingerprint }, token);
}
