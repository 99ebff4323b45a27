import 'reflect-metadata';
import { treeDigest } from '../../support/digest';
import { X509Certificate, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registry } from '../../../src/backends';
import { FileCertStore } from '../../../src/backends/file/file-cert-store';
import type { CertStore } from '../../../src/core/cert-store';
import { loadConfig } from '../../../src/core/config/load';
import { createContainer } from '../../../src/core/container';
import { BackendUnavailableError, ConflictError, InvalidInputError, NotFoundError, NotSupportedError } from '../../../src/core/errors';
import { IssuanceService } from '../../../src/core/issuance-service';
import { canonicalJson, migrateStores, type MigrationProgress } from '../../../src/core/migration';
import { newSerial, serialToHex } from '../../../src/core/serial';
import type { CaRecord, IssuedCertificate, RevocationReason } from '../../../src/core/types';

x509.cryptoProvider.set(webcrypto);

/** A CA service over a file store in `dir`, as `certctl` wires it (local signer, file store). */
function serviceAt(dir: string, ca = 'default', passphrase?: string): IssuanceService {
  const config = loadConfig({ ca }, { XDG_CONFIG_HOME: join(dir, 'xdg'), CERTCTL_FILE_DIR: dir }, dir);
  return createContainer(config, { get: () => passphrase }, registry).get(IssuanceService);
}

/**
 * A source store with CA "default" (key encrypted with a passphrase), `count` node
 * certificates, one stored without a key (as `sign` leaves it), `revoke` of them revoked
 * and `crls` CRLs drawn.
 */
async function seed(dir: string, count: number, revoke: number, crls = 1): Promise<{ store: FileCertStore; serials: string[]; revoked: string[] }> {
  const service = serviceAt(dir, 'default', 'test passphrase');
  await service.init({ commonName: 'Migration Test CA', passphrase: 'test passphrase' });
  const { items } = await service.issue({ profile: 'node', count });
  const store = new FileCertStore({ dir });
  const keyless = { ...items[0], record: { ...items[0].record, serial: serialToHex(newSerial()), hasKey: false }, keyPem: undefined };
  await store.putIssued('default', [keyless]);
  const revoked = items.slice(0, revoke).map((i) => i.record.serial);
  if (revoke) await service.revoke(revoked, 'keyCompromise');
  for (let i = 0; i < crls; i++) await service.crl();
  return { store, serials: [...items.map((i) => i.record.serial), keyless.record.serial], revoked };
}

/**
 * A fault-injecting fake around a real store: delegates everything, but lets a test refuse a
 * `putIssued` (a backend rejecting an object, or dying midway) or corrupt what `getKey` returns.
 */
class FaultInjectingStore implements CertStore {
  readonly kind = 'fault-injecting';
  puts = 0;
  constructor(
    private readonly inner: FileCertStore,
    private readonly faults: {
      onPut?: (items: IssuedCertificate[], call: number) => Error | undefined;
      onRevoke?: (call: number) => Error | undefined;
      corruptKey?: string;
    } = {},
  ) {}
  /** Every markRevoked call, as asked. */
  readonly revocations: { serials: string[]; reason: RevocationReason; at: string }[] = [];
  getCa(ca: string) {
    return this.inner.getCa(ca);
  }
  listCas() {
    return this.inner.listCas();
  }
  createCa(record: CaRecord, keyPem?: string) {
    return this.inner.createCa(record, keyPem);
  }
  getCaKey(ca: string) {
    return this.inner.getCaKey(ca);
  }
  async putIssued(ca: string, items: IssuedCertificate[]) {
    const err = this.faults.onPut?.(items, ++this.puts);
    if (err) throw err;
    return this.inner.putIssued(ca, items);
  }
  get(ca: string, serial: string) {
    return this.inner.get(ca, serial);
  }
  async getKey(ca: string, serial: string) {
    const key = await this.inner.getKey(ca, serial);
    if (serial !== this.faults.corruptKey || !key) return key;
    // One base64 character of the body changed: what a bit flip in the backend would look like.
    const at = key.indexOf('\n') + 1;
    return `${key.slice(0, at)}${key[at] === 'A' ? 'B' : 'A'}${key.slice(at + 1)}`;
  }
  list(ca: string) {
    return this.inner.list(ca);
  }
  async markRevoked(ca: string, serials: string[], reason: RevocationReason, at: Date) {
    this.revocations.push({ serials, reason, at: at.toISOString() });
    const err = this.faults.onRevoke?.(this.revocations.length);
    if (err) throw err;
    return this.inner.markRevoked(ca, serials, reason, at);
  }
  nextCrlNumber(ca: string) {
    return this.inner.nextCrlNumber(ca);
  }
  raiseCrlNumber(ca: string, atLeast: bigint) {
    return this.inner.raiseCrlNumber(ca, atLeast);
  }
}

/** Two store directories, `a` and `b`, in a fresh temporary directory (their parent). */
function storeDirs(prefix: string): [string, string] {
  const tmp = mkdtempSync(join(tmpdir(), prefix));
  return [join(tmp, 'a'), join(tmp, 'b')];
}

/** Everything a store holds of a CA (CA, key, records in order, certificates with keys, CRL number), for comparing two stores. */
async function snapshot(store: CertStore, ca = 'default') {
  const records = await store.list(ca);
  const items = await Promise.all(records.map(async (r) => ({ ...(await store.get(ca, r.serial))!, keyPem: await store.getKey(ca, r.serial) })));
  return { ca: await store.getCa(ca), key: await store.getCaKey(ca), records, items, crl: await (store as FileCertStore).raiseCrlNumber(ca, 0n) };
}

describe('migrateStores (file → file)', () => {
  let tmp: string;
  let src: string;
  let dst: string;
  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), 'certctl-migrate-'));
    src = join(tmp, 'src');
    dst = join(tmp, 'dst');
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it('copies CA, key, chain, certificates, leaf keys and records (revocations included) byte for byte; CRL numbers continue', async () => {
    const { store: source, serials, revoked } = await seed(src, 150, 12, 2);
    const before = treeDigest(src);
    const target = new FileCertStore({ dir: dst });
    const progress: MigrationProgress[] = [];
    const result = await migrateStores(source, target, { batchSize: 40, onProgress: (p) => progress.push(p) });

    expect(result).toEqual({
      from: 'file',
      to: 'file',
      dryRun: false,
      deleteSource: false,
      warnings: [],
      cas: [
        {
          ca: 'default',
          caAction: 'create',
          caKey: true,
          certificates: 151,
          revoked: 12,
          copied: 151,
          revocationsCarried: 0,
          skipped: 0,
          targetOnly: 0,
          verified: 151,
          crlNumber: '2',
          targetCrlNumber: '0',
        },
      ],
    });
    expect(await target.getCa('default')).toEqual(await source.getCa('default'));
    expect(await target.getCaKey('default')).toBe(await source.getCaKey('default'));
    expect((await target.getCaKey('default')).startsWith('-----BEGIN ENCRYPTED PRIVATE KEY-----')).toBe(true);
    expect(await target.list('default')).toEqual(await source.list('default'));
    for (const serial of serials) {
      expect(await target.get('default', serial)).toEqual(await source.get('default', serial));
      expect(await target.getKey('default', serial)).toBe(await source.getKey('default', serial));
    }
    expect((await target.list('default', { revokedOnly: true })).map((r) => r.serial).sort()).toEqual([...revoked].sort());
    expect(await target.nextCrlNumber('default')).toBe(3n);
    expect(treeDigest(src)).toEqual(before);
    // Four batches of at most 40, then a read-back of all 151.
    expect(progress.filter((p) => p.phase === 'copy').map((p) => p.done)).toEqual([0, 40, 80, 120, 151]);
    expect(progress.at(-1)).toEqual({ ca: 'default', phase: 'verify', done: 151, total: 151 });
  });

  it('the target CA keeps working: a CRL from it lists the old revocations with the next number, and new certificates verify against the same CA', async () => {
    const { store: source, revoked } = await seed(src, 20, 3, 1);
    await migrateStores(source, new FileCertStore({ dir: dst }));
    const service = serviceAt(dst, 'default', 'test passphrase');
    const { items } = await service.issue({ profile: 'client', commonName: 'after the move' });
    const ca = new X509Certificate((await source.getCa('default'))!.certPem);
    expect(new X509Certificate(items[0].certPem).verify(ca.publicKey)).toBe(true);
    await service.revoke([items[0].record.serial], 'superseded');
    const crl = new x509.X509Crl(await service.crl());
    expect(await crl.verify({ publicKey: new x509.X509Certificate((await source.getCa('default'))!.certPem) })).toBe(true);
    const canonical = (hex: string) => hex.toUpperCase().replace(/^(00)+/, '');
    expect(crl.entries.map((e) => canonical(e.serialNumber)).sort()).toEqual([...revoked, items[0].record.serial].map(canonical).sort());
    // CRL number (2.5.29.20): the source drew 1, so the target's first CRL is 2.
    const crlNumber = crl.getExtension('2.5.29.20');
    expect(Buffer.from(crlNumber!.value).toString('hex')).toBe('020102');
  });

  it('--dry-run counts what would move and writes nothing to either store', async () => {
    const { store: source } = await seed(src, 30, 4);
    const before = treeDigest(src);
    const result = await migrateStores(source, new FileCertStore({ dir: dst }), { dryRun: true });
    expect(result.dryRun).toBe(true);
    expect(result.cas).toEqual([
      {
        ca: 'default',
        caAction: 'create',
        caKey: true,
        certificates: 31,
        revoked: 4,
        copied: 31,
        revocationsCarried: 0,
        skipped: 0,
        targetOnly: 0,
        verified: 0,
        crlNumber: '1',
        targetCrlNumber: '0',
      },
    ]);
    expect(existsSync(dst)).toBe(false);
    expect(treeDigest(src)).toEqual(before);
  });

  it('resumes after an interruption: copies only what is missing, never duplicates, verifies everything', async () => {
    const { store: source, serials } = await seed(src, 80, 5);
    const target = new FileCertStore({ dir: dst });
    // What an interrupted run leaves: the CA and the first half of the certificates.
    await target.createCa((await source.getCa('default'))!, await source.getCaKey('default'));
    const half = await Promise.all(
      serials.slice(0, 40).map(async (s) => ({ ...(await source.get('default', s))!, keyPem: await source.getKey('default', s) })),
    );
    await target.putIssued('default', half);

    const dry = await migrateStores(source, target, { dryRun: true });
    expect(dry.cas[0]).toMatchObject({ caAction: 'reuse', copied: 41, skipped: 40 });
    const result = await migrateStores(source, target);
    expect(result.cas[0]).toMatchObject({ caAction: 'reuse', certificates: 81, copied: 41, skipped: 40, verified: 81 });
    const lines = readFileSync(join(dst, 'default', 'inventory.jsonl'), 'utf8')
      .trim()
      .split('\n');
    expect(lines).toHaveLength(81);
    expect(new Set(lines.map((l) => JSON.parse(l).serial)).size).toBe(81);
    // A third run finds nothing to copy.
    expect((await migrateStores(source, target)).cas[0]).toMatchObject({ copied: 0, skipped: 81, verified: 81 });
  });

  it('a target dying midway keeps whole batches only; the re-run completes the copy', async () => {
    const { store: source } = await seed(src, 100, 0);
    const before = treeDigest(src);
    const real = new FileCertStore({ dir: dst });
    const dying = new FaultInjectingStore(real, {
      onPut: (_items, call) => (call === 3 ? new BackendUnavailableError('connection reset by the fault-injecting store') : undefined),
    });
    const err = await migrateStores(source, dying, { batchSize: 25 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendUnavailableError);
    expect((err as Error).message).toMatch(
      /copying certificates 51–75 of 101 of CA "default" .* failed: connection reset by the fault-injecting store\. The source is untouched and the 50 certificates before this batch are in the target/,
    );
    expect(await real.list('default')).toHaveLength(50);
    expect(treeDigest(src)).toEqual(before);
    expect((await migrateStores(source, real, { batchSize: 25 })).cas[0]).toMatchObject({ copied: 51, skipped: 50, verified: 101 });
  });

  it('a target that rejects an object (too large) stops with a clear error naming the batch, keeps none of it and leaves the source intact', async () => {
    const { store: source, serials } = await seed(src, 30, 2);
    const before = treeDigest(src);
    const tooLarge = serials[17];
    const real = new FileCertStore({ dir: dst });
    const refusing = new FaultInjectingStore(real, {
      onPut: (items) =>
        items.some((i) => i.record.serial === tooLarge) ? new InvalidInputError(`the store refused certificate ${tooLarge} as too large (413)`) : undefined,
    });
    const err = await migrateStores(source, refusing, { batchSize: 10 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as Error).message).toContain(
      `copying certificates 11–20 of 31 of CA "default" (serials ${serials[10]} … ${serials[19]}) into the fault-injecting store failed`,
    );
    expect((err as Error).message).toContain(`refused certificate ${tooLarge} as too large`);
    expect((err as Error).message).not.toMatch(/PRIVATE KEY/);
    expect((await real.list('default')).map((r) => r.serial)).toEqual(serials.slice(0, 10));
    expect(treeDigest(src)).toEqual(before);
  });

  it('verification reads every object back and fails loudly, naming the serial, when the target holds something else', async () => {
    const { store: source, serials } = await seed(src, 10, 0);
    const real = new FileCertStore({ dir: dst });
    const err = await migrateStores(source, real, { verifyTarget: () => new FaultInjectingStore(real, { corruptKey: serials[3] }) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as Error).message).toContain(`verification of CA "default" in the fault-injecting store failed`);
    expect((err as Error).message).toContain(`1 certificate differs: ${serials[3]} (key)`);
    expect((err as Error).message).not.toMatch(/BEGIN|PRIVATE/);
  });

  it('a serial the target already holds with another record is a conflict found before anything is written', async () => {
    const { store: source, serials } = await seed(src, 5, 0);
    const target = new FileCertStore({ dir: dst });
    await target.createCa((await source.getCa('default'))!, await source.getCaKey('default'));
    const original = (await source.get('default', serials[2]))!;
    await target.putIssued('default', [
      { record: { ...original.record, commonName: 'tampered' }, certPem: original.certPem, keyPem: await source.getKey('default', serials[2]) },
    ]);
    const before = treeDigest(dst);
    await expect(migrateStores(source, target)).rejects.toThrow(
      new RegExp(`CA "default": 1 certificate conflicts: ${serials[2]} \\(the record differs in commonName\\)\\. Nothing was written`),
    );
    expect(await target.list('default')).toHaveLength(1);
    expect(treeDigest(dst)).toEqual(before);
  });

  it('refuses a target holding a different CA of the same name before copying anything', async () => {
    const { store: source } = await seed(src, 3, 0);
    await serviceAt(dst).init({ commonName: 'Another CA' });
    const target = new FileCertStore({ dir: dst });
    await expect(migrateStores(source, target)).rejects.toThrow(ConflictError);
    await expect(migrateStores(source, target)).rejects.toThrow(/already has a different CA "default"/);
    expect(await target.list('default')).toEqual([]);
  });

  it('plans every CA before writing any: a conflict in the second CA leaves the target without the first', async () => {
    const { store: source } = await seed(src, 3, 0);
    await serviceAt(src, 'zeta', 'test passphrase').init({ commonName: 'Zeta CA', passphrase: 'test passphrase' });
    await serviceAt(dst, 'zeta').init({ commonName: 'Another Zeta' });
    const target = new FileCertStore({ dir: dst });
    await expect(migrateStores(source, target)).rejects.toThrow(/already has a different CA "zeta"/);
    expect(await target.listCas()).toEqual(['zeta']);
  });

  it('moves every CA by default (a root and its intermediate), or only the ones asked for', async () => {
    const { store: source } = await seed(src, 4, 1);
    await serviceAt(src, 'issuing', 'test passphrase').init({ commonName: 'Issuing CA', parent: 'default', passphrase: 'test passphrase' });
    await serviceAt(src, 'issuing', 'test passphrase').issue({ profile: 'client', commonName: 'leaf' });
    const only = await migrateStores(source, new FileCertStore({ dir: join(tmp, 'one') }), { cas: ['issuing'] });
    expect(only.cas.map((c) => c.ca)).toEqual(['issuing']);
    const all = await migrateStores(source, new FileCertStore({ dir: dst }));
    expect(all.cas.map((c) => [c.ca, c.certificates])).toEqual([
      ['default', 6],
      ['issuing', 1],
    ]);
    expect(await new FileCertStore({ dir: dst }).getCa('issuing')).toEqual(await source.getCa('issuing'));
    await expect(migrateStores(source, new FileCertStore({ dir: dst }), { cas: ['nope'] })).rejects.toThrow(NotFoundError);
  });

  it('a CA whose key its signer keeps (Vault PKI) moves without a key, with a warning', async () => {
    const { store: seeded } = await seed(src, 3, 0);
    const keyless = new FileCertStore({ dir: join(tmp, 'pki-held') });
    await keyless.createCa((await seeded.getCa('default'))!);
    await keyless.putIssued(
      'default',
      await Promise.all(
        (await seeded.list('default')).map(async (r) => ({ ...(await seeded.get('default', r.serial))!, keyPem: await seeded.getKey('default', r.serial) })),
      ),
    );
    const target = new FileCertStore({ dir: dst });
    const result = await migrateStores(keyless, target);
    expect(result.cas[0]).toMatchObject({ caKey: false, verified: 4 });
    expect(result.warnings[0]).toMatch(/CA "default" has no key in the file store \(its signer keeps it\)/);
    await expect(target.getCaKey('default')).rejects.toThrow(NotFoundError);
  });

  it('refuses stores that cannot carry the CRL number over, before writing anything', async () => {
    const { store: source } = await seed(src, 2, 0);
    const target = new FileCertStore({ dir: dst });
    const noCrl = Object.assign(Object.create(target), { raiseCrlNumber: undefined, kind: 'legacy' }) as CertStore;
    await expect(migrateStores(source, noCrl)).rejects.toThrow(NotSupportedError);
    expect(existsSync(dst)).toBe(false);
  });

  it('raiseCrlNumber never lowers the counter and reads it without writing when asked for 0', async () => {
    const { store } = await seed(src, 1, 0, 3);
    const path = join(src, 'default', 'crlnumber');
    const mtime = statSync(path).mtimeMs;
    expect(await store.raiseCrlNumber('default', 0n)).toBe(3n);
    expect(statSync(path).mtimeMs).toBe(mtime);
    expect(await store.raiseCrlNumber('default', 2n)).toBe(3n);
    expect(await store.raiseCrlNumber('default', 10n)).toBe(10n);
    expect(await store.nextCrlNumber('default')).toBe(11n);
    await expect(store.raiseCrlNumber('nope', 1n)).rejects.toThrow(NotFoundError);
  });
});

describe('migrateStores --delete-source (file → file)', () => {
  let tmp: string;
  let src: string;
  let dst: string;
  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), 'certctl-migrate-del-'));
    src = join(tmp, 'src');
    dst = join(tmp, 'dst');
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it('deletes the source CA after every object verified identical in the target, and says so', async () => {
    const { store: source } = await seed(src, 60, 7, 2);
    const before = await snapshot(source);
    const target = new FileCertStore({ dir: dst });
    const result = await migrateStores(source, target, { deleteSource: true, batchSize: 25, verifyTarget: () => new FileCertStore({ dir: dst }) });
    expect(result.deleteSource).toBe(true);
    expect(result.cas).toEqual([
      {
        ca: 'default',
        caAction: 'create',
        caKey: true,
        certificates: 61,
        revoked: 7,
        copied: 61,
        revocationsCarried: 0,
        skipped: 0,
        targetOnly: 0,
        verified: 61,
        crlNumber: '2',
        targetCrlNumber: '0',
        sourceDeleted: true,
      },
    ]);
    // The source CA is gone, directory and all, with nothing left aside.
    expect(await source.listCas()).toEqual([]);
    expect(await source.getCa('default')).toBeUndefined();
    expect(readdirSync(src)).toEqual([]);
    // The target holds everything the source held.
    expect(await snapshot(new FileCertStore({ dir: dst }))).toEqual(before);
  });

  it('a verification failure leaves the source intact: nothing is deleted', async () => {
    const { store: source, serials } = await seed(src, 10, 1);
    const before = treeDigest(src);
    const real = new FileCertStore({ dir: dst });
    const err = await migrateStores(source, real, { deleteSource: true, verifyTarget: () => new FaultInjectingStore(real, { corruptKey: serials[4] }) }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as Error).message).toContain(`1 certificate differs: ${serials[4]} (key)`);
    expect((err as Error).message).toContain('The source is untouched');
    expect(treeDigest(src)).toEqual(before);
    expect(await source.listCas()).toEqual(['default']);
  });

  it('with several CAs, deletes none of them when the last one fails verification', async () => {
    const { store: source } = await seed(src, 3, 0);
    const issuing = serviceAt(src, 'issuing', 'test passphrase');
    await issuing.init({ commonName: 'Issuing CA', parent: 'default', passphrase: 'test passphrase' });
    const { items } = await issuing.issue({ profile: 'client', commonName: 'leaf' });
    const before = treeDigest(src);
    const real = new FileCertStore({ dir: dst });
    await expect(
      migrateStores(source, real, { deleteSource: true, verifyTarget: () => new FaultInjectingStore(real, { corruptKey: items[0].record.serial }) }),
    ).rejects.toThrow(/verification of CA "issuing"/);
    expect(treeDigest(src)).toEqual(before);
    // Run again with an honest read-back: both CAs move, then both are deleted.
    const result = await migrateStores(source, real, { deleteSource: true });
    expect(result.cas.map((c) => [c.ca, c.sourceDeleted])).toEqual([
      ['default', true],
      ['issuing', true],
    ]);
    expect(await source.listCas()).toEqual([]);
  });

  it('never deletes with --dry-run', async () => {
    const { store: source } = await seed(src, 5, 0);
    const before = treeDigest(src);
    const result = await migrateStores(source, new FileCertStore({ dir: dst }), { deleteSource: true, dryRun: true });
    expect(result).toMatchObject({ dryRun: true, deleteSource: true });
    expect(result.cas[0]).toMatchObject({ copied: 6, verified: 0, sourceDeleted: false });
    expect(treeDigest(src)).toEqual(before);
    expect(existsSync(dst)).toBe(false);
  });

  it('refuses, before copying anything, a source store that cannot delete (exit 9)', async () => {
    const { store: real } = await seed(src, 2, 0);
    const source = new FaultInjectingStore(real);
    expect('deleteCa' in source).toBe(false);
    const err = await migrateStores(source, new FileCertStore({ dir: dst }), { deleteSource: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotSupportedError);
    expect((err as NotSupportedError).exitCode).toBe(9);
    expect((err as Error).message).toMatch(/the fault-injecting store cannot delete a CA.*nothing was copied/);
    expect(existsSync(dst)).toBe(false);
  });

  it('does not delete a source that changed after it was copied (a certificate issued meanwhile)', async () => {
    const { store: source } = await seed(src, 4, 0);
    const target = new FileCertStore({ dir: dst });
    let late = '';
    // The fresh instance read just before deleting: another certctl has issued a certificate into the source by then.
    const fresh = Object.assign(Object.create(source) as FileCertStore, {
      async list(ca: string) {
        late = (await serviceAt(src, 'default', 'test passphrase').issue({ profile: 'client', commonName: 'late' })).items[0].record.serial;
        return source.list(ca);
      },
    });
    const err = await migrateStores(source, target, { deleteSource: true, freshSource: () => fresh }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as Error).message).toMatch(
      /copied and verified in the file store, but the file store changed meanwhile \(1 certificate record differs.*nothing was deleted from the source/,
    );
    expect(await source.listCas()).toEqual(['default']);
    expect((await source.get('default', late))?.record.commonName).toBe('late');
  });

  it('FileCertStore.deleteCa refuses an unknown CA', async () => {
    await expect(new FileCertStore({ dir: src }).deleteCa('nope')).rejects.toThrow(NotFoundError);
  });
});

describe('migrateStores back and forth: the target ends equal to the source, conflicts stop before any write', () => {
  let a: string;
  let b: string;
  beforeEach(() => ([a, b] = storeDirs('certctl-migrate-back-')));
  afterEach(() => rmSync(join(a, '..'), { recursive: true, force: true }));

  /**
   * CA "default" in A (11 certificates, 2 revoked, CRL 1), moved to B with A kept, then used on
   * B: 2 certificates issued, 2 of A's valid ones revoked (different reasons, so 2 revocation
   * times), 2 CRLs drawn (B's CRL number 3).
   */
  async function movedAndUsed() {
    const { store: storeA, serials } = await seed(a, 10, 2, 1);
    await migrateStores(storeA, new FileCertStore({ dir: b }));
    const onB = serviceAt(b, 'default', 'test passphrase');
    const issued = (await onB.issue({ profile: 'node', count: 2 })).items.map((i) => i.record.serial);
    const revokedOnB = serials.slice(2, 4);
    await onB.revoke([revokedOnB[0]], 'superseded');
    await onB.revoke([revokedOnB[1]], 'cessationOfOperation');
    await onB.crl();
    await onB.crl();
    return { storeA, storeB: new FileCertStore({ dir: b }), serials, issued, revokedOnB };
  }

  /** The dry run and the real run from B into A fail with one ConflictError (exit 8) and write nothing. */
  async function expectConflict(storeB: CertStore, storeA: CertStore, ...patterns: RegExp[]): Promise<void> {
    const before = treeDigest(a);
    const dry = await migrateStores(storeB, storeA, { dryRun: true }).catch((e: unknown) => e);
    const real = await migrateStores(storeB, storeA).catch((e: unknown) => e);
    expect(real).toBeInstanceOf(ConflictError);
    expect((real as ConflictError).exitCode).toBe(8);
    expect(dry).toEqual(real);
    const message = (real as Error).message;
    for (const p of patterns) expect(message).toMatch(p);
    expect(message).toMatch(/Nothing was written to either store\..*migrate the other way/);
    expect(message).not.toMatch(/PRIVATE KEY/);
    expect(treeDigest(a)).toEqual(before);
  }

  it('moved back into the original directory: new certificates copied, revocations carried with their time and reason, CRL number raised — as the dry run said', async () => {
    const { storeA, storeB, revokedOnB } = await movedAndUsed();
    const before = treeDigest(a);
    const dry = await migrateStores(storeB, storeA, { dryRun: true });
    expect(treeDigest(a)).toEqual(before);
    expect(dry.cas).toEqual([
      {
        ca: 'default',
        caAction: 'reuse',
        caKey: true,
        certificates: 13,
        revoked: 4,
        copied: 2,
        revocationsCarried: 2,
        skipped: 9,
        targetOnly: 0,
        verified: 0,
        crlNumber: '3',
        targetCrlNumber: '1',
      },
    ]);
    const recording = new FaultInjectingStore(storeA);
    const real = await migrateStores(storeB, recording);
    // The plan is what ran: the same counts, now verified.
    expect(real.cas).toEqual([{ ...dry.cas[0], verified: 13 }]);
    expect(real.warnings).toEqual(dry.warnings);
    const revokedAt = async (serial: string) => (await storeB.get('default', serial))!.record.revokedAt;
    expect(recording.revocations).toEqual([
      { serials: [revokedOnB[0]], reason: 'superseded', at: await revokedAt(revokedOnB[0]) },
      { serials: [revokedOnB[1]], reason: 'cessationOfOperation', at: await revokedAt(revokedOnB[1]) },
    ]);
    expect(await snapshot(new FileCertStore({ dir: a }))).toEqual(await snapshot(storeB));
    // A's next CRL lists all four revocations and numbers past B's.
    const crl = new x509.X509Crl(await serviceAt(a, 'default', 'test passphrase').crl());
    expect(crl.entries).toHaveLength(4);
    expect(Buffer.from(crl.getExtension('2.5.29.20')!.value).toString('hex')).toBe('020104');
    // Nothing left to do the second time (A drew CRL 4 meanwhile: ahead of B, kept).
    expect((await migrateStores(storeB, storeA)).cas[0]).toMatchObject({
      copied: 0,
      revocationsCarried: 0,
      skipped: 13,
      verified: 13,
      crlNumber: '3',
      targetCrlNumber: '4',
    });
    expect(await storeA.raiseCrlNumber('default', 0n)).toBe(4n);
  });

  it('several revocations at one time and reason are carried in one call', async () => {
    const { store: storeA, serials } = await seed(a, 6, 0, 0);
    await migrateStores(storeA, new FileCertStore({ dir: b }));
    await serviceAt(b, 'default', 'test passphrase').revoke(serials.slice(0, 3), 'affiliationChanged');
    const recording = new FaultInjectingStore(storeA);
    expect((await migrateStores(new FileCertStore({ dir: b }), recording)).cas[0]).toMatchObject({ copied: 0, revocationsCarried: 3, skipped: 4, verified: 7 });
    expect(recording.revocations.map((r) => [r.serials, r.reason])).toEqual([[serials.slice(0, 3), 'affiliationChanged']]);
  });

  it('a failure while carrying revocations over names what failed; the re-run finishes the rest', async () => {
    const { storeA, storeB, revokedOnB } = await movedAndUsed();
    const failing = new FaultInjectingStore(storeA, {
      onRevoke: (call) => (call === 2 ? new BackendUnavailableError('connection reset by the fault-injecting store') : undefined),
    });
    const err = await migrateStores(storeB, failing).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendUnavailableError);
    expect((err as Error).message).toContain(`carrying the revocation of certificate ${revokedOnB[1]} of CA "default" (cessationOfOperation,`);
    expect((err as Error).message).toMatch(/the 1 revocations carried before this one are in the target; fix the cause and run the same command again/);
    expect((await migrateStores(storeB, storeA)).cas[0]).toMatchObject({ copied: 0, revocationsCarried: 1, skipped: 12, verified: 13 });
    expect(await snapshot(storeA)).toEqual(await snapshot(storeB));
  });

  it('a target whose CRL number is ahead keeps it', async () => {
    const { storeA, storeB } = await movedAndUsed();
    for (let i = 0; i < 5; i++) await serviceAt(a, 'default', 'test passphrase').crl();
    const result = await migrateStores(storeB, storeA);
    expect(result.cas[0]).toMatchObject({ crlNumber: '3', targetCrlNumber: '6', verified: 13 });
    expect(await storeA.raiseCrlNumber('default', 0n)).toBe(6n);
  });

  it('certificates only the target holds (issued there after the move) are kept, with a warning', async () => {
    const { storeA, storeB } = await movedAndUsed();
    const late = (await serviceAt(a, 'default', 'test passphrase').issue({ profile: 'node' })).items[0].record.serial;
    const dry = await migrateStores(storeB, storeA, { dryRun: true });
    expect(dry.cas[0]).toMatchObject({ copied: 2, revocationsCarried: 2, skipped: 9, targetOnly: 1 });
    expect(dry.warnings).toEqual([
      expect.stringMatching(/CA "default": the target \(the file store\) also holds 1 certificate the source lacks \(issued there\); they are kept/),
    ]);
    expect((await migrateStores(storeB, storeA)).cas[0]).toMatchObject({ targetOnly: 1, verified: 13 });
    expect((await storeA.get('default', late))?.record.status).toBe('valid');
    expect(await storeA.list('default')).toHaveLength(14);
  });

  it('conflict: a revocation the source lacks (the target revoked what the source holds valid)', async () => {
    const { storeA, storeB, serials } = await movedAndUsed();
    await serviceAt(a, 'default', 'test passphrase').revoke([serials[5]], 'keyCompromise');
    await expectConflict(
      storeB,
      storeA,
      new RegExp(`CA "default": 1 certificate conflicts: ${serials[5]} \\(revoked in the target at \\S+ \\(keyCompromise\\) but valid in the source\\)`),
    );
  });

  it('conflict: one certificate revoked at another time or for another reason on each side', async () => {
    const { storeA, storeB, revokedOnB } = await movedAndUsed();
    await serviceAt(a, 'default', 'test passphrase').revoke([revokedOnB[0]], 'keyCompromise');
    await expectConflict(
      storeB,
      storeA,
      new RegExp(`${revokedOnB[0]} \\(revoked differently: at \\S+ \\(superseded\\) in the source, at \\S+ \\(keyCompromise\\) in the target\\)`),
    );
  });

  it('conflict: a different certificate, or a different key, under one serial — every conflicting serial named', async () => {
    const { storeA, storeB, issued } = await movedAndUsed();
    const [one, two] = await Promise.all(issued.map(async (s) => ({ ...(await storeB.get('default', s))!, keyPem: await storeB.getKey('default', s) })));
    // Under the first serial another certificate; under the second its own certificate with another key.
    await storeA.putIssued('default', [
      { record: one.record, certPem: two.certPem, keyPem: one.keyPem },
      { record: two.record, certPem: two.certPem, keyPem: one.keyPem },
    ]);
    await expectConflict(
      storeB,
      storeA,
      /2 certificates conflict: /,
      new RegExp(`${issued[0]} \\(a different certificate\\)`),
      new RegExp(`${issued[1]} \\(a different key\\)`),
    );
  });

  it('conflict: the target holds the CA with another record (another key encryption)', async () => {
    const { store: storeA } = await seed(a, 2, 0);
    const other = new FileCertStore({ dir: b });
    await other.createCa({ ...(await storeA.getCa('default'))!, keyEncrypted: false }, await storeA.getCaKey('default'));
    const before = treeDigest(b);
    await expect(migrateStores(storeA, other, { dryRun: true })).rejects.toThrow(/CA "default": its CA record differs in keyEncrypted\. Nothing was written/);
    await expect(migrateStores(storeA, other)).rejects.toThrow(ConflictError);
    expect(treeDigest(b)).toEqual(before);
  });
});

describe('canonicalJson', () => {
  it('sorts keys at every depth and drops undefined members, keeping array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, 1], c: undefined, b: 'x' } })).toBe('{"a":{"b":"x","d":[2,1]},"b":1}');
  });
});
