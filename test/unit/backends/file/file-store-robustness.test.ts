import { appendFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileCertStore } from '../../../../src/backends/file/file-cert-store';
import type { CaRecord, IssuedCertificate } from '../../../../src/core/types';
import { newSerial, serialToHex } from '../../../../src/core/serial';

const ca: CaRecord = { name: 'default', certPem: '-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n', chainPem: [], keyType: 'ec-p256', keyEncrypted: false, createdAt: '2026-01-01T00:00:00.000Z' };

function item(): IssuedCertificate {
  const serial = serialToHex(newSerial());
  return {
    record: { serial, profile: 'client', commonName: serial, dnsNames: [], ipAddresses: [], keyType: 'ec-p256', notBefore: '2026-01-01T00:00:00.000Z', notAfter: '2027-01-01T00:00:00.000Z', issuedAt: '2026-01-01T00:00:00.000Z', hasKey: true, sha256: '00', status: 'valid' },
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

  it('leaves no temp files behind after a CA is created and certificates stored', async () => {
    await store.createCa(ca, 'K');
    await store.putIssued('default', [item(), item()]);
    const all = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? all(join(d, e.name)) : [e.name]));
    expect(all(join(dir, 'pki')).filter((n) => n.includes('.tmp'))).toEqual([]);
    expect(readdirSync(join(dir, 'pki')).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
  });
});
