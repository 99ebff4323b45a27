import { appendFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileCertStore } from '../../../../src/backends/file/file-cert-store';
import type { CaRecord, IssuedCertificate } from '../../../../src/core/types';
import { newSerial, serialToHex } from '../../../../src/core/serial';

const ca: CaRecord = {
  name: 'default',
  certPem: '-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n',
  chainPem: [],
  keyType: 'ec-p256',
  keyEncrypted: false,
  createdAt: '2026-01-01T00:00:00.000Z',
};

function item(): IssuedCertificate {
  const serial = serialToHex(newSerial());
  return {
    record: {
      serial,
      profile: 'client',
      commonName: serial,
      dnsNames: [],
      ipAddresses: [],
      keyType: 'ec-p256',
      notBefore: '2026-01-01T00:00:00.000Z',
      notAfter: '2027-01-01T00:00:00.000Z',
      issuedAt: '2026-01-01T00:00:00.000Z',
      hasKey: true,
      sha256: '00',
      status: 'valid',
    },
    certPem: `-----BEGIN CERTIFICATE-----\n${serial}\n-----END CERTIFICATE-----\n`,
    keyPem: `-----BEGIN PRIVATE KEY-----\n${serial}\n-----END PRIVATE KEY-----\n`,
  };
}

describe('file store robustness', () => {
  let dir: string;
  let store: FileCertStore;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'certctl-robust-'));
    store = new FileCertStore({ dir: join(dir, 'pki') });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('ignores a torn last inventory line (a crash mid-append) and the next writer cuts it off', async () => {
    await store.createCa(ca, 'K');
    const a = item();
    await store.putIssued('default', [a]);
    const inventory = join(dir, 'pki', 'default', 'inventory.jsonl');
    appendFileSync(inventory, '{"e":"issue","serial":"DEADBEEF","profile":"cli');
    expect((await store.list('default')).map((r) => r.serial)).toEqual([a.record.serial]);
    expect(await store.get('default', 'DEADBEEF')).toBeUndefined();
    const b = item();
    await store.putIssued('default', [b]);
    const lines = readFileSync(inventory, 'utf8').split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.map((l) => JSON.parse(l).serial)).toEqual([a.record.serial, b.record.serial]);
  });

  it('a pack file written before a crash but never referenced is invisible', async () => {
    await store.createCa(ca, 'K');
    appendFileSync(join(dir, 'pki', 'default', 'certs', 'ORPHAN.pem'), 'half a certif');
    expect(await store.list('default')).toEqual([]);
  });

  it('replaces a pack a failed attempt left under the same name, unreferenced (a migration run again)', async () => {
    await store.createCa(ca, 'K');
    const a = item();
    const caDir = join(dir, 'pki', 'default');
    writeFileSync(join(caDir, 'certs', `${a.record.serial}.pem`), 'half a certif');
    writeFileSync(join(caDir, 'keys', `${a.record.serial}.pem`), 'half a key');
    await store.putIssued('default', [a]);
    expect((await store.get('default', a.record.serial))?.certPem).toBe(a.certPem);
    expect(await store.getKey('default', a.record.serial)).toBe(a.keyPem);
    expect((statSync(join(caDir, 'keys', `${a.record.serial}.pem`)).mode & 0o777).toString(8)).toBe('600');
  });

  it('makes directories 0700 and files 0600 whatever the umask', async () => {
    const old = process.umask(0o000);
    try {
      await store.createCa(ca, 'K');
      await store.putIssued('default', [item()]);
    } finally {
      process.umask(old);
    }
    const caDir = join(dir, 'pki', 'default');
    for (const d of [join(dir, 'pki'), caDir, join(caDir, 'certs'), join(caDir, 'keys')]) {
      expect((statSync(d).mode & 0o777).toString(8)).toBe('700');
    }
    for (const f of ['ca.key', 'ca.crt', 'inventory.jsonl', ...readdirSync(join(caDir, 'keys')).map((k) => join('keys', k))]) {
      expect([f, (statSync(join(caDir, f)).mode & 0o777).toString(8)]).toEqual([f, '600']);
    }
  });

  it("writers of one CA wait for each other's lock: five concurrent batches all land, each once", async () => {
    await store.createCa(ca, 'K');
    const batches = Array.from({ length: 5 }, () => [item(), item()]);
    await Promise.all(batches.map((b) => store.putIssued('default', b)));
    const stored = (await store.list('default')).map((r) => r.serial).sort();
    expect(stored).toEqual(
      batches
        .flat()
        .map((i) => i.record.serial)
        .sort(),
    );
  });

  it('leaves no temp files behind after a CA is created and certificates stored', async () => {
    await store.createCa(ca, 'K');
    await store.putIssued('default', [item(), item()]);
    const all = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? all(join(d, e.name)) : [e.name]));
    expect(all(join(dir, 'pki')).filter((n) => n.includes('.tmp'))).toEqual([]);
    expect(readdirSync(join(dir, 'pki')).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
  });
});

describe('stageFiles', () => {
  const { stageFiles } = require('../../../../src/core/fs-atomic') as typeof import('../../../../src/core/fs-atomic');
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'certctl-stage-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it.each([3, 200])('shows nothing until commit, then all %d files with their modes', (n) => {
    const files = Array.from({ length: n }, (_, i) => ({ path: join(dir, 'out', `f${i}.pem`), data: `file ${i}\n`, mode: i % 2 ? 0o600 : 0o644 }));
    const staged = stageFiles(files);
    expect(readdirSync(join(dir, 'out')).filter((f) => !f.endsWith('.tmp'))).toEqual([]);
    staged.commit();
    const names = readdirSync(join(dir, 'out'));
    expect(names.filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(names).toHaveLength(n);
    expect(readFileSync(join(dir, 'out', 'f1.pem'), 'utf8')).toBe('file 1\n');
    expect((statSync(join(dir, 'out', 'f1.pem')).mode & 0o777).toString(8)).toBe('600');
  });

  it('stageFilesFlushing: nothing visible until commit, which waits for the flush and then shows every file', async () => {
    const { stageFilesFlushing } = require('../../../../src/core/fs-atomic') as typeof import('../../../../src/core/fs-atomic');
    const files = Array.from({ length: 4 }, (_, i) => ({ path: join(dir, 'out', `f${i}.pem`), data: `file ${i}\n`, mode: 0o600 }));
    const staged = stageFilesFlushing(files);
    expect(readdirSync(join(dir, 'out')).filter((f) => !f.endsWith('.tmp'))).toEqual([]);
    await staged.commit();
    expect(readdirSync(join(dir, 'out')).sort()).toEqual(['f0.pem', 'f1.pem', 'f2.pem', 'f3.pem']);
    expect(readFileSync(join(dir, 'out', 'f3.pem'), 'utf8')).toBe('file 3\n');
  });

  it('abort leaves nothing behind', () => {
    const staged = stageFiles(Array.from({ length: 100 }, (_, i) => ({ path: join(dir, `g${i}`), data: 'x', mode: 0o600 })));
    staged.abort();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses a target that is an existing directory before writing anything', () => {
    const { mkdirSync } = require('node:fs') as typeof import('node:fs');
    mkdirSync(join(dir, 'cert.pem'));
    expect(() =>
      stageFiles([
        { path: join(dir, 'key.pem'), data: 'k', mode: 0o600 },
        { path: join(dir, 'cert.pem'), data: 'c', mode: 0o644 },
      ]),
    ).toThrow(/existing directory/);
    expect(readdirSync(dir)).toEqual(['cert.pem']);
  });
});

describe('serial index', () => {
  let dir: string;
  let store: FileCertStore;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'certctl-index-'));
    store = new FileCertStore({ dir: join(dir, 'pki') });
    await store.createCa(ca, 'K');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('finds certificates and revocations through the index, and is rebuilt when it falls behind', async () => {
    const items = Array.from({ length: 100 }, item);
    await store.putIssued('default', items.slice(0, 70));
    await store.putIssued('default', items.slice(70, 71));
    await store.markRevoked('default', [items[3].record.serial], 'superseded', new Date('2026-02-02Z'));
    const indexDir = join(dir, 'pki', 'default', 'index');
    expect(JSON.parse(readFileSync(join(indexDir, 'covered'), 'utf8')).inventory).toBe(statSync(join(dir, 'pki', 'default', 'inventory.jsonl')).size);
    expect((await store.get('default', items[3].record.serial))?.record.status).toBe('revoked');
    expect((await store.get('default', items[70].record.serial))?.record.serial).toBe(items[70].record.serial);
    // A crash after the inventory append but before the index append: the index is behind.
    appendFileSync(
      join(dir, 'pki', 'default', 'inventory.jsonl'),
      `${JSON.stringify({ e: 'revoke', serial: items[5].record.serial, revokedAt: '2026-03-03T00:00:00.000Z', reason: 'keyCompromise' })}\n`,
    );
    expect((await store.get('default', items[5].record.serial))?.record.revocationReason).toBe('keyCompromise');
    await store.putIssued('default', [items[71]]);
    expect(readFileSync(join(indexDir, items[5].record.serial.slice(0, 2)), 'utf8')).toContain(items[5].record.serial);
    expect((await store.get('default', items[5].record.serial))?.record.status).toBe('revoked');
    // A serial already in the index is refused.
    await expect(store.putIssued('default', [{ ...item(), record: { ...item().record, serial: items[0].record.serial } }])).rejects.toThrow(/already used/);
  });

  // The index is written without fsync (the inventory's fsync makes an issuance durable), so a
  // crash or power loss may leave any index file short, zero-filled or older than `covered`.
  describe('a crash that left the index inconsistent', () => {
    const caDir = () => join(dir, 'pki', 'default');
    const shardOf = (serial: string) => join(caDir(), 'index', serial.slice(0, 2));
    let items: IssuedCertificate[];
    beforeEach(async () => {
      items = Array.from({ length: 3 }, item);
      for (const i of items) await store.putIssued('default', [i]);
    });

    it.each([
      ['lost its last append (short)', (path: string) => truncateSync(path, statSync(path).size - 1)],
      ['kept its length but lost its data (zero-filled)', (path: string) => writeFileSync(path, Buffer.alloc(statSync(path).size))],
      ['vanished', (path: string) => unlinkSync(path)],
    ])('a shard that %s is not believed: the certificate is found, and a writer refuses its serial and rebuilds the shard', async (_what, damage) => {
      const target = items[1].record.serial;
      const shard = shardOf(target);
      const good = readFileSync(shard, 'utf8');
      damage(shard);
      expect((await store.get('default', target))?.record.serial).toBe(target);
      // The duplicate check of a writer must not take a damaged shard for "serial unused".
      await expect(store.putIssued('default', [{ ...item(), record: { ...item().record, serial: target } }])).rejects.toThrow(/already used/);
      expect(readFileSync(shard, 'utf8')).toBe(good);
      const next = item();
      await store.putIssued('default', [next]);
      expect(readFileSync(shardOf(next.record.serial), 'utf8')).toContain(next.record.serial);
      expect((await store.get('default', target))?.record.serial).toBe(target);
    });

    it.each([
      ['torn (not JSON)', '{"inventory":12,"sha'],
      ['zero-filled', '\0\0\0\0'],
      ["an older certctl's bare byte count", '0'],
    ])('a `covered` record that is %s makes readers scan and the next writer rebuild the index', async (_what, text) => {
      writeFileSync(join(caDir(), 'index', 'covered'), text);
      for (const i of items) expect((await store.get('default', i.record.serial))?.record.serial).toBe(i.record.serial);
      await store.markRevoked('default', [items[0].record.serial], 'superseded', new Date('2026-02-02Z'));
      const covered = JSON.parse(readFileSync(join(caDir(), 'index', 'covered'), 'utf8'));
      expect(covered.inventory).toBe(statSync(join(caDir(), 'inventory.jsonl')).size);
      expect(readFileSync(shardOf(items[0].record.serial), 'utf8').match(new RegExp(`^${items[0].record.serial} `, 'gm'))).toHaveLength(2);
      expect((await store.get('default', items[0].record.serial))?.record.status).toBe('revoked');
    });

    it('a shard newer than `covered` (the crash fell between the two writes) is not believed, then rebuilt', async () => {
      const target = items[2].record.serial;
      appendFileSync(shardOf(target), `${target} 0 10\n`);
      expect((await store.get('default', target))?.record.serial).toBe(target);
      // A writer extending that shard checks it first.
      const next = item();
      const serial = target.slice(0, 2) + next.record.serial.slice(2);
      await store.putIssued('default', [{ ...next, record: { ...next.record, serial } }]);
      expect(readFileSync(shardOf(target), 'utf8')).not.toContain(`${target} 0 10\n`);
      expect((await store.get('default', serial))?.record.serial).toBe(serial);
      expect((await store.get('default', target))?.record.serial).toBe(target);
    });

    it('a torn last inventory line is cut off before the index is checked, so the index covers the whole file again', async () => {
      appendFileSync(join(caDir(), 'inventory.jsonl'), '{"e":"issue","serial":"DEAD');
      const next = item();
      await store.putIssued('default', [next]);
      const covered = JSON.parse(readFileSync(join(caDir(), 'index', 'covered'), 'utf8'));
      expect(covered.inventory).toBe(statSync(join(caDir(), 'inventory.jsonl')).size);
      expect(readFileSync(join(caDir(), 'inventory.jsonl'), 'utf8')).not.toContain('DEAD');
      expect((await store.get('default', next.record.serial))?.record.serial).toBe(next.record.serial);
    });
  });
});
