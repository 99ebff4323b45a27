import type { Command } from 'commander';
import type { AnyBackend } from '../../core/backend';
import type { CertStore } from '../../core/cert-store';
import type { ResolvedConfig } from '../../core/config/load';
import { InternalError, InvalidInputError, NotSupportedError } from '../../core/errors';
import type { CaKeyImporter, CaMigration, MigrationProgress, MigrationResult } from '../../core/migration';
import type { PassphraseSource } from '../../core/secrets';
import { plural } from '../../core/text';
import type { Signer } from '../../core/signer';
import { emit, fail, globalsOf, loadRuntimeConfig, note, type GlobalOptions } from '../runtime';

interface MigrateOptions {
  from: string;
  to: string;
  fromDir?: string;
  toDir?: string;
  dryRun?: boolean;
  deleteSource?: boolean;
  batchSize: string;
  importCaKey?: boolean;
  signer?: string;
}

/** `certctl migrate`: moves CAs with their certificates, keys and inventory from one store to another. */
export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('copy CAs, certificates, keys and inventory from one store to another, then verify every object')
    .requiredOption('--from <store>', `source store: a backend name, as --backend takes it (${storeNames()})`)
    .requiredOption('--to <store>', `target store: a backend name (${storeNames()})`)
    .option('--from-dir <dir>', 'directory of a source kept in a directory (file), instead of file.dir / CERTCTL_FILE_DIR')
    .option('--to-dir <dir>', 'directory of a target kept in a directory (file), instead of file.dir / CERTCTL_FILE_DIR')
    .option('--dry-run', 'show what would be copied, carried over and raised; write nothing (exit 8 on conflicts, as the real run)')
    .option('--delete-source', 'after every CA is copied and verified identical in the target, delete it from the source (never with --dry-run)')
    .option('--batch-size <n>', 'certificates per all-or-nothing write', '200')
    .option(
      '--import-ca-key',
      `import each CA key the source holds into the target backend's signer (backends whose signer takes keys: ${keyImportingNames()}) so it signs from then on; the target store keeps no key (--passphrase-file decrypts an encrypted key in memory)`,
    )
    .option(
      '--signer <backend>',
      "with --import-ca-key: the backend whose signer takes each CA key (default: the --to backend's); with --from and --to naming the same store, the key moves out of that store into the signer, removed from the store only after a test signature made by the signer verifies with the CA certificate",
    )
    .addHelpText(
      'after',
      `
Both stores are configured by the same certctl.yaml sections (${sectionNames()}) and
environment as the other commands. Without --ca every CA of the source moves. Stop other
certctl processes writing to the source first. Re-running after an interruption copies only
what is missing; afterwards every object is read back from the target and compared by SHA-256.
Into a target that already holds the CA (moving back after a while elsewhere), certificates
issued meanwhile are copied, revocations carried over and the CRL number raised; anything that
really conflicts (another certificate under a serial, a revocation only the target has) is
listed and refused (exit 8) before anything is written. --dry-run says exactly what will happen.
The source is left as it was, unless --delete-source is given: then, only once every CA has
been verified in the target (and the source has not changed since it was read), each CA is
deleted from the source store with its key, certificates, leaf keys and inventory. A CA whose
key its signer keeps outside the store (Vault's PKI engine) loses only the store's entries: the
signer's copy (the PKI issuer) is never deleted.

Examples:
  certctl migrate --from file --to barbican --dry-run
  certctl migrate --from file --to vault-kv --ca default
  certctl migrate --from file --to vault-kv --import-ca-key --passphrase-file ca-pass   # then backend: vault
  certctl migrate --from file --to file --import-ca-key --signer NAME    # move the CA key into NAME's signer, in place
  certctl migrate --from file --to file --to-dir /srv/pki-new --json
  certctl migrate --from barbican --to file --delete-source     # move, then remove from Barbican`,
    )
    .action(async (opts: MigrateOptions, cmd: Command) => {
      // Not runtime.action(): that wires the configured backend's signer and store, which
      // migrate does not use and which may not even be configured (e.g. `backend: file`
      // while migrating from Vault to Barbican).
      const globals = globalsOf(cmd);
      try {
        await runMigrate(globals, opts);
      } catch (err) {
        process.exitCode = fail(err, Boolean(globals.json));
      }
    });
}

/** The registry's backends that can store, with their aliases, for help texts and messages. */
function storeNames(): string {
  const { registry } = require('../../backends') as typeof import('../../backends');
  return registry.storeNames();
}

/** The backends whose signer can take a CA key (`--import-ca-key`), from their descriptors. */
function keyImportingNames(): string {
  const { registry } = require('../../backends') as typeof import('../../backends');
  return registry
    .all()
    .filter((d) => d.capabilities.signer.includes('caKeyImport'))
    .map((d) => d.name)
    .join(', ');
}

/** The backends' certctl.yaml sections, `file:, barbican:, vault:`. */
function sectionNames(): string {
  const { registry } = require('../../backends') as typeof import('../../backends');
  return registry
    .sections()
    .map((s) => `${s}:`)
    .join(', ');
}

async function runMigrate(globals: GlobalOptions, opts: MigrateOptions): Promise<void> {
  if (globals.backend) throw new InvalidInputError('migrate takes --from and --to, not --backend');
  const batchSize = parseBatchSize(opts.batchSize);
  const { config, passphrase } = loadRuntimeConfig(globals);
  if (opts.signer && !opts.importCaKey) throw new InvalidInputError('--signer names where --import-ca-key puts the CA keys; give --import-ca-key too');
  // On the descriptor, before any store is opened: a signer that cannot take keys fails first.
  if (opts.importCaKey) importingBackend(opts.to, opts.signer);
  const from = openSide(config, opts.from, '--from', opts.fromDir, '--from-dir');
  const to = openSide(config, opts.to, '--to', opts.toDir, '--to-dir');
  const inPlace = from.backend === to.backend && from.location === to.location;
  if (inPlace && opts.importCaKey && opts.signer) return moveKeysInPlace(globals, opts, to, passphrase);
  if (inPlace) {
    throw new InvalidInputError(
      `--from and --to name the same ${from.backend.name} store (${from.location})${from.backend.withDirectory ? '; give --to-dir DIR (or --from-dir) for another directory' : ''}`,
    );
  }
  const caKeyImporter = opts.importCaKey ? keyImporter(to, passphrase, opts.signer).importer : undefined;
  const { migrateStores } = require('../../core/migration') as typeof import('../../core/migration');
  const progress = progressBars(globals);
  let result: MigrationResult;
  try {
    result = await migrateStores(from.open(), to.open(), {
      cas: globals.ca ? [globals.ca] : undefined,
      dryRun: opts.dryRun,
      batchSize,
      verifyTarget: to.open,
      onProgress: progress ? (p) => progress.update(p) : undefined,
      caKeyImporter,
      passphrase: () => passphrase.get(),
      // A source store without deleteCa is refused by migrateStores before anything is copied (exit 9).
      deleteSource: opts.deleteSource,
      freshSource: from.open,
    });
  } finally {
    progress?.stop();
  }
  result.warnings.forEach((w) => note(globals, `warning: ${w}`));
  result.notes?.forEach((n) => note(globals, n));
  emit(globals, result, describe(result, result.from, result.to));
}

function parseBatchSize(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 10000) {
    throw new InvalidInputError(`--batch-size must be a whole number from 1 to 10000, not "${text}"`);
  }
  return Number(text);
}

/** One side of a migration: its backend, its configuration and where it keeps things. */
interface Side {
  backend: AnyBackend;
  config: ResolvedConfig;
  location: string;
  /** A fresh store instance each call (verification and the delete check read through new ones), from its own container. */
  open: () => CertStore;
}

/**
 * Resolves a `--from`/`--to` name through the registry (the same names and aliases as --backend)
 * and opens the store through the core's container factory, as every other command does.
 * @throws InvalidInputError for an unknown name, a store-less backend or a misplaced --*-dir;
 *   ConfigError naming the backend's bad option (checked now, before anything is read).
 */
function openSide(base: ResolvedConfig, name: string, flag: string, dir: string | undefined, dirFlag: string): Side {
  const { registry } = require('../../backends') as typeof import('../../backends');
  const { createContainer } = require('../../core/container') as typeof import('../../core/container');
  const { CertStore: CertStoreToken } = require('../../core/cert-store') as typeof import('../../core/cert-store');
  const backend = registry.resolve(name, flag, 'input');
  if (!backend.provides.store) throw new InvalidInputError(`${flag} ${name}: the ${backend.name} backend keeps no certificates; choose ${storeNames()}`);
  if (dir && !backend.withDirectory) throw new InvalidInputError(`${dirFlag} applies to a store kept in a directory, not to ${backend.name}`);
  const config = dir && backend.withDirectory ? backend.withDirectory(base, dir) : base;
  const location = backend.location ? backend.location(backend.parseOptions(config)) : backend.name;
  const open = () => createContainer(config, { get: () => undefined }, registry, { store: backend.name, signer: null }).get<CertStore>(CertStoreToken);
  open(); // builds once now, so a bad config section fails before anything is read
  return { backend, config, location, open };
}

/**
 * The signer that imports CA keys (`--import-ca-key`): that of `--signer`, else of the target
 * backend, from a container of the target's configuration over the target store.
 * @throws NotSupportedError when that backend's signer cannot take a CA key (checked on the
 *   descriptor, before any connection); InvalidInputError for an unknown --signer.
 */
function keyImporter(to: Side, passphrase: PassphraseSource, signerName?: string): { importer: CaKeyImporter; signer: Signer } {
  const { registry } = require('../../backends') as typeof import('../../backends');
  const backend = importingBackend(to.backend.name, signerName);
  const { createContainer } = require('../../core/container') as typeof import('../../core/container');
  const { Signer: SignerToken, canImportCaKey } = require('../../core/signer') as typeof import('../../core/signer');
  const signer = createContainer(to.config, passphrase, registry, { store: to.backend.name, signer: backend.name }).get<Signer>(SignerToken);
  if (!canImportCaKey(signer)) throw new InternalError(`the ${backend.name} backend declares caKeyImport, but its ${signer.kind} signer cannot take a CA key`);
  return { importer: { name: signer.importTarget, checkAdoptable: (r) => signer.checkAdoptable(r), adoptCa: (r, key) => signer.adoptCa(r, key) }, signer };
}

/**
 * The backend whose signer takes the CA keys: `--signer`, else `--to`.
 * @throws NotSupportedError when its descriptor declares no `caKeyImport`; InvalidInputError for an unknown name.
 */
function importingBackend(toName: string, signerName?: string): AnyBackend {
  const { registry } = require('../../backends') as typeof import('../../backends');
  const backend = registry.resolve(signerName ?? toName, signerName ? '--signer' : '--to', 'input');
  if (!backend.capabilities.signer.includes('caKeyImport')) {
    const able = registry.all().filter((d) => d.capabilities.signer.includes('caKeyImport'));
    const stores = able.filter((d) => d.provides.store).map((d) => d.name);
    const hint = [stores.length ? `--to ${stores.join(' or ')}` : '', `--signer ${able.map((d) => d.name).join(' or ')}`].filter(Boolean).join(', or ');
    throw new NotSupportedError(`--import-ca-key: the ${backend.name} backend has no signer that can take a CA key; use ${hint}`);
  }
  return backend;
}

/** `--import-ca-key --signer NAME` with one store on both sides: each CA key moves from the store into the signer. */
async function moveKeysInPlace(globals: GlobalOptions, opts: MigrateOptions, side: Side, passphrase: PassphraseSource): Promise<void> {
  if (opts.deleteSource) throw new InvalidInputError('--delete-source: --from and --to name the same store; moving the CA keys in place deletes nothing else');
  const { importer, signer } = keyImporter(side, passphrase, opts.signer);
  const { moveCaKeysIntoSigner } = require('../../core/ca-key-move') as typeof import('../../core/ca-key-move');
  const store = side.open();
  const result = await moveCaKeysIntoSigner(store, importer, signer, {
    cas: globals.ca ? [globals.ca] : undefined,
    dryRun: opts.dryRun,
    passphrase: () => passphrase.get(),
  });
  result.notes.forEach((n) => note(globals, n));
  const verb = { moved: 'key moved into', 'would-move': 'key would move into', 'no-key': 'the store holds no key of it; nothing to move into' } as const;
  const lines = result.cas.map(
    (c) =>
      `  CA "${c.ca}": ${verb[c.outcome]} ${result.signer}${c.outcome === 'moved' ? `, checked with a test signature, removed from the ${result.store} store` : ''}`,
  );
  emit(
    globals,
    result,
    result.cas.length ? `${result.dryRun ? 'dry run, nothing written:\n' : ''}${lines.join('\n')}` : `the ${result.store} store has no CA; nothing to move`,
  );
}

/** Progress bars on a terminal (one per CA and phase), on stderr; none with --json or when piped. */
function progressBars(globals: GlobalOptions): { update(p: MigrationProgress): void; stop(): void } | undefined {
  if (!process.stderr.isTTY || globals.json) return undefined;
  const { SingleBar, Presets } = require('cli-progress') as typeof import('cli-progress');
  let bar: InstanceType<typeof SingleBar> | undefined;
  let current = '';
  return {
    update(p) {
      const key = `${p.ca}\0${p.phase}`;
      if (key === current) return void bar?.update(p.done);
      bar?.stop();
      current = key;
      bar = undefined;
      if (p.total === 0) return;
      const label = `${p.phase === 'copy' ? 'copying' : 'verifying'} ${p.ca}`;
      bar = new SingleBar({ stream: process.stderr, format: `${label} [{bar}] {value}/{total} {eta}s left`, hideCursor: true }, Presets.shades_classic);
      bar.start(p.total, p.done);
    },
    stop() {
      bar?.stop();
    },
  };
}

/**
 * The human summary: with --dry-run the plan (what the real run will write: certificates to
 * copy, revocations to carry over, CRL number), otherwise what was written and verified.
 * Conflicts never reach it: they stop both runs with exit 8 before anything is written.
 */
function describe(result: MigrationResult, from: string, to: string): string {
  const dry = result.dryRun;
  const crl = (c: CaMigration) => {
    const [source, target] = [BigInt(c.crlNumber), BigInt(c.targetCrlNumber)];
    if (c.caAction === 'create') return `CRL number ${c.crlNumber} ${dry ? 'carries' : 'carried'} over`;
    if (target < source) return `CRL number ${dry ? 'to raise' : 'raised'} from ${c.targetCrlNumber} to ${c.crlNumber}`;
    return `CRL number ${c.targetCrlNumber} kept (not behind the source's ${c.crlNumber})`;
  };
  const counts = (c: CaMigration) => {
    const parts = [
      `${c.copied} ${dry ? 'to copy' : 'copied'}`,
      `${plural(c.revocationsCarried, 'revocation')} ${dry ? 'to carry over' : 'carried over'}`,
      `${c.skipped} already there`,
    ];
    if (c.targetOnly) parts.push(`${c.targetOnly} only in the ${to} store (kept)`);
    if (!dry) parts.push(`${c.verified} verified by SHA-256`);
    return parts.join(', ');
  };
  const line = (c: CaMigration) => {
    const certs = `${plural(c.certificates, 'certificate')} (${c.revoked} revoked)`;
    const signer = result.keyImporter ?? 'the signer';
    if (dry) {
      const key = c.caKeyImported ? `; import its key into ${signer} (not into the store)` : '';
      const del = result.deleteSource ? `; then delete it from the ${from} store` : '';
      return `  CA "${c.ca}": ${c.caAction === 'create' ? `create it (certificate, chain${c.caKey && !c.caKeyImported ? ', key' : ''})` : 'already there, reuse it'}${key}; ${certs}: ${counts(c)}; ${crl(c)}${del}`;
    }
    const key = c.caKeyImported ? `; its key is in ${signer}, not in the store` : '';
    const del = c.sourceDeleted
      ? `; deleted from the ${from} store (the CA${c.caKey ? ', its key' : ''} and its ${plural(c.certificates, 'certificate')} with their keys and records)`
      : '';
    return `  CA "${c.ca}": ${c.caAction === 'create' ? 'created' : 'already there, reused'}${key}; ${certs}: ${counts(c)}; ${crl(c)}${del}`;
  };
  if (result.cas.length === 0) return `the ${from} store has no CA; nothing to migrate`;
  const head = dry ? `dry run, nothing written: from the ${from} store to the ${to} store would move` : `migrated from the ${from} store to the ${to} store:`;
  const tail = dry
    ? ''
    : result.deleteSource
      ? `\nthe source (the ${from} store) no longer holds ${result.cas.length === 1 ? 'this CA' : 'these CAs'}`
      : `\nthe source (the ${from} store) is left as it was`;
  return `${head}\n${result.cas.map(line).join('\n')}${tail}`;
}
