import type { Command } from 'commander';
import { resolve } from 'node:path';
import type { CertStore } from '../../core/cert-store';
import type { ResolvedConfig } from '../../core/config/load';
import { InvalidInputError } from '../../core/errors';
import type { CaMigration, MigrationProgress, MigrationResult } from '../../core/migration';
import { emit, fail, globalsOf, note, type GlobalOptions } from '../runtime';

/** Store kinds `migrate` moves between, and the backend whose store module provides each. */
const STORE_BACKENDS = { file: 'file', barbican: 'barbican', 'vault-kv': 'vault' } as const;
type StoreKind = keyof typeof STORE_BACKENDS;
const STORE_KINDS = Object.keys(STORE_BACKENDS) as StoreKind[];

interface MigrateOptions {
  from: string;
  to: string;
  fromDir?: string;
  toDir?: string;
  dryRun?: boolean;
  deleteSource?: boolean;
  batchSize: string;
  importCaKey?: boolean;
}

/** `certctl migrate`: moves CAs with their certificates, keys and inventory from one store to another. */
export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('copy CAs, certificates, keys and inventory from one store to another, then verify every object')
    .requiredOption('--from <store>', `source store: ${STORE_KINDS.join('|')}`)
    .requiredOption('--to <store>', `target store: ${STORE_KINDS.join('|')}`)
    .option('--from-dir <dir>', 'directory of a file source (instead of file.dir / CERTCTL_FILE_DIR)')
    .option('--to-dir <dir>', 'directory of a file target (instead of file.dir / CERTCTL_FILE_DIR)')
    .option('--dry-run', 'show what would move; write nothing')
    .option('--delete-source', 'after every CA is copied and verified identical in the target, delete it from the source (never with --dry-run)')
    .option('--batch-size <n>', 'certificates per all-or-nothing write', '200')
    .option('--import-ca-key', "with --to vault-kv: import each CA key the source holds into Vault's PKI engine (vault.pki_mount) so Vault signs from then on; the KV copy keeps no key (--passphrase-file decrypts an encrypted key in memory)")
    .addHelpText('after', `
Both stores are configured by the same certctl.yaml sections (file:, barbican:, vault:) and
environment as the other commands. Without --ca every CA of the source moves. Stop other
certctl processes writing to the source first. Re-running after an interruption copies only
what is missing; afterwards every object is read back from the target and compared by SHA-256.
The source is left as it was, unless --delete-source is given: then, only once every CA has
been verified in the target (and the source has not changed since it was read), each CA is
deleted from the source store with its key, certificates, leaf keys and inventory. With
--from vault-kv, that deletes the KV entries only: a CA whose key Vault's PKI engine holds
(backend: vault) keeps its PKI issuer, which certctl never deletes.

Examples:
  certctl migrate --from file --to barbican --dry-run
  certctl migrate --from file --to vault-kv --ca default
  certctl migrate --from file --to vault-kv --import-ca-key --passphrase-file ca-pass   # then backend: vault
  certctl migrate --from file --to file --to-dir /srv/pki-new --json
  certctl migrate --from barbican --to file --delete-source     # move, then remove from Barbican`)
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

async function runMigrate(globals: GlobalOptions, opts: MigrateOptions): Promise<void> {
  const from = storeKind(opts.from, '--from');
  const to = storeKind(opts.to, '--to');
  if (globals.backend) throw new InvalidInputError('migrate takes --from and --to, not --backend');
  if (opts.fromDir && from !== 'file') throw new InvalidInputError('--from-dir applies to --from file only');
  if (opts.toDir && to !== 'file') throw new InvalidInputError('--to-dir applies to --to file only');
  if (opts.importCaKey && to !== 'vault-kv') {
    throw new InvalidInputError(`--import-ca-key moves CA keys into Vault's PKI engine and needs --to vault-kv, not --to ${to}`);
  }
  if (!/^\d+$/.test(opts.batchSize) || Number(opts.batchSize) < 1 || Number(opts.batchSize) > 10000) {
    throw new InvalidInputError(`--batch-size must be a whole number from 1 to 10000, not "${opts.batchSize}"`);
  }
  const { loadConfig } = require('../../core/config/load') as typeof import('../../core/config/load');
  const config = loadConfig({ configPath: globals.config, ca: globals.ca });
  const fromConfig = withFileDir(config, opts.fromDir);
  const toConfig = withFileDir(config, opts.toDir);
  if (from === to && (from !== 'file' || sameFileDir(fromConfig, toConfig))) {
    throw new InvalidInputError(
      `--from and --to name the same ${from} store${from === 'file' ? ` (${fileDir(fromConfig)}); give --to-dir DIR (or --from-dir) for another directory` : ''}`,
    );
  }
  const openSource = storeFactory(from, fromConfig, '--from');
  const openTarget = storeFactory(to, toConfig, '--to');
  const { migrateStores } = require('../../core/migration') as typeof import('../../core/migration');
  const caKeyImporter = opts.importCaKey ? vaultKeyImporter(toConfig) : undefined;
  const { passphraseSource } = require('../../core/secrets') as typeof import('../../core/secrets');
  const passphrase = passphraseSource(globals.passphraseFile, config.env);
  const progress = progressBars(globals);
  let result: MigrationResult;
  try {
    result = await migrateStores(openSource(), openTarget(), {
      cas: globals.ca ? [globals.ca] : undefined,
      dryRun: opts.dryRun,
      batchSize: Number(opts.batchSize),
      verifyTarget: openTarget,
      onProgress: progress?.update,
      caKeyImporter,
      passphrase: () => passphrase.get(),
      // A source store without deleteCa is refused by migrateStores before anything is copied (exit 9).
      deleteSource: opts.deleteSource,
      freshSource: openSource,
    });
  } finally {
    progress?.stop();
  }
  result.warnings.forEach((w) => note(globals, `warning: ${w}`));
  result.notes?.forEach((n) => note(globals, n));
  emit(globals, result, describe(result, from, to));
}

function storeKind(value: string, flag: string): StoreKind {
  if (STORE_KINDS.includes(value as StoreKind)) return value as StoreKind;
  const hint = value === 'vault' ? ' (vault-kv is the KV v2 store the vault backend keeps certificates in)' : '';
  throw new InvalidInputError(`${flag} ${value} is not a store; choose ${STORE_KINDS.join(', ')}${hint}`);
}

/** The config with a --from-dir/--to-dir applied where CERTCTL_FILE_DIR would be, so the flag wins over env and file. */
function withFileDir(config: ResolvedConfig, dir: string | undefined): ResolvedConfig {
  return dir ? { ...config, env: { ...config.env, CERTCTL_FILE_DIR: resolve(dir) } } : config;
}

function fileDir(config: ResolvedConfig): string {
  const { parseFileOptions } = require('../../backends/file') as typeof import('../../backends/file');
  return parseFileOptions(config).dir;
}

function sameFileDir(a: ResolvedConfig, b: ResolvedConfig): boolean {
  return fileDir(a) === fileDir(b);
}

/**
 * Opens a store through its backend's descriptor, as every other command does; a factory,
 * because verification reads through a second, fresh instance of the target.
 * @throws ConfigError naming the backend's bad option.
 */
function storeFactory(kind: StoreKind, config: ResolvedConfig, flag: string): () => CertStore {
  const { loadBackend } = require('../../backends') as typeof import('../../backends');
  const { Container } = require('inversify') as typeof import('inversify');
  const { CertStore: CertStoreToken } = require('../../core/cert-store') as typeof import('../../core/cert-store');
  require('reflect-metadata');
  const backend = loadBackend(STORE_BACKENDS[kind], flag);
  const open = () => {
    const container = new Container();
    container.loadSync(backend.storeModule!(config));
    return container.get<CertStore>(CertStoreToken);
  };
  open(); // builds once now, so a bad config section fails before anything is read
  return open;
}

/** Vault's PKI engine of the `vault:` section as the importer of CA keys (`--import-ca-key`). */
function vaultKeyImporter(config: ResolvedConfig): import('../../core/migration').CaKeyImporter {
  const vault = require('../../backends/vault') as typeof import('../../backends/vault');
  const { parseVaultOptions } = require('../../backends/vault/options') as typeof import('../../backends/vault/options');
  const signer = vault.createVaultPkiSigner(config);
  const mount = parseVaultOptions(config).pkiMount;
  return {
    name: `Vault PKI (${mount}/)`,
    checkAdoptable: (record) => signer.checkAdoptable(record),
    adoptCa: (record, keyPem) => signer.adoptCa(record, keyPem),
  };
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
function describe(result: MigrationResult, from: StoreKind, to: StoreKind): string {
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
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
    const del = c.sourceDeleted ? `; deleted from the ${from} store (the CA${c.caKey ? ', its key' : ''} and its ${plural(c.certificates, 'certificate')} with their keys and records)` : '';
    return `  CA "${c.ca}": ${c.caAction === 'create' ? 'created' : 'already there, reused'}${key}; ${certs}: ${counts(c)}; ${crl(c)}${del}`;
  };
  if (result.cas.length === 0) return `the ${from} store has no CA; nothing to migrate`;
  const head = dry ? `dry run, nothing written: from the ${from} store to the ${to} store would move` : `migrated from the ${from} store to the ${to} store:`;
  const tail = dry ? '' : result.deleteSource ? `\nthe source (the ${from} store) no longer holds ${result.cas.length === 1 ? 'this CA' : 'these CAs'}` : `\nthe source (the ${from} store) is left as it was`;
  return `${head}\n${result.cas.map(line).join('\n')}${tail}`;
}
