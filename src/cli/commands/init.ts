import type { Command } from 'commander';
import { parseDuration } from '../../core/duration';
import { InvalidInputError } from '../../core/errors';
import { CA_NAME_PATTERN, CA_NAME_RULE } from '../../core/names';
import { parseNameConstraintFlags, type NameConstraintFlags } from '../../core/policy/name-constraints';
import { KEY_TYPES, type KeyType } from '../../core/types';
import { action, collect, emit, note, type GlobalOptions, type Runtime } from '../runtime';

interface InitOptions extends NameConstraintFlags {
  cn: string;
  keyType: string;
  ttl?: string;
  parent?: string;
  keyLabel?: string;
}

/** `certctl init`: creates a root CA, or an intermediate with --parent. */
export function registerInit(program: Command): void {
  program
    .command('init')
    .description('create a CA: a root, or an intermediate signed by another CA of this store')
    .requiredOption('--cn <name>', 'subject common name of the CA')
    .option('--key-type <type>', `key type: ${KEY_TYPES.join('|')}`, 'ec-p256')
    .option('--ttl <duration>', 'validity, e.g. 10y (root default) or 5y (intermediate default)')
    .option('--parent <ca>', 'make an intermediate CA signed by this CA')
    .option(
      '--key-label <label>',
      'use the existing key of this label instead of generating one (a signer that keeps keys in a token; --key-type must match the key)',
    )
    .option('--permit-dns <domain>', 'intermediate only: permit this DNS domain and the names under it (repeatable; name constraints)', collect)
    .option('--exclude-dns <domain>', 'intermediate only: exclude this DNS domain and the names under it (repeatable)', collect)
    .option('--permit-ip <cidr>', 'intermediate only: permit this IP range, e.g. 10.0.0.0/8 (repeatable)', collect)
    .option('--exclude-ip <cidr>', 'intermediate only: exclude this IP range (repeatable)', collect)
    .addHelpText(
      'after',
      `
Examples:
  certctl init --cn "Demo CA"
  certctl init --cn "Demo CA" --passphrase-file /run/secrets/ca-pass     # CA key encrypted at rest
  certctl --ca issuing init --cn "Issuing CA 1" --parent default         # intermediate (pathLen 0)
  certctl init --cn "HSM CA" --key-label ca-2026 --key-type ec-p384       # an existing key in the signer's token
  certctl --ca internal init --cn "Internal CA" --parent default \
    --permit-dns internal.example --permit-ip 10.0.0.0/8 --exclude-dns bad.internal.example   # name constraints`,
    )
    .action(action(runInit));
}

/** The action of `certctl init`. */
async function runInit({ service, passphrase }: Runtime, globals: GlobalOptions, opts: InitOptions): Promise<void> {
  if (!KEY_TYPES.includes(opts.keyType as KeyType)) {
    throw new InvalidInputError(`--key-type ${opts.keyType} is not supported; choose ${KEY_TYPES.join(', ')}`);
  }
  if (opts.parent !== undefined && !CA_NAME_PATTERN.test(opts.parent)) {
    throw new InvalidInputError(`--parent "${opts.parent}" is not a CA name; use ${CA_NAME_RULE}`);
  }
  const constraints = parseNameConstraintFlags(opts);
  for (const line of constraints.notes) note(globals, line);
  const { record, notes } = await service.init({
    commonName: opts.cn,
    keyType: opts.keyType as KeyType,
    ttlSeconds: opts.ttl ? parseDuration(opts.ttl, '--ttl') : undefined,
    parent: opts.parent,
    passphrase: passphrase.get(),
    existingKeyLabel: opts.keyLabel,
    nameConstraints: constraints.constraints,
  });
  for (const line of notes) note(globals, line);
  note(
    globals,
    `created ${record.parent ? `intermediate CA "${record.name}" signed by "${record.parent}"` : `root CA "${record.name}"`} (${record.keyType}${record.keyEncrypted ? ', key encrypted' : ''})`,
  );
  emit(
    globals,
    {
      ca: record.name,
      parent: record.parent ?? null,
      keyType: record.keyType,
      keyEncrypted: record.keyEncrypted,
      nameConstraints: constraints.constraints ?? null,
      certificate: record.certPem,
    },
    record.certPem,
  );
}
