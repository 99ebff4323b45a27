/**
 * The proof of issue #10's "a backend is one folder": the memory backend in this folder is
 * registered on certctl's registry at run time — nothing in src/ names it — and then passes the
 * CertStore contract and a CLI round trip (init, issue, list, revoke, crl, migrate to and from
 * `file`) like the shipped backends.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registry } from '../../../src/backends';
import { loadConfig } from '../../../src/core/config/load';
import { describeCertStoreContract } from '../../contract/cert-store.contract';
import { openStore } from '../../support/containers';
import { certctlInProcess } from '../../support/in-process-cli';
import { memoryBackend } from '.';

beforeAll(() => registry.register(memoryBackend));
afterAll(() => registry.unregister(memoryBackend.name));

describeCertStoreContract('memory (a backend registered by a test)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'certctl-memory-'));
  writeFileSync(join(dir, 'certctl.yaml'), `memory:\n  space: contract-${randomBytes(4).toString('hex')}\n`);
  const config = loadConfig({ configPath: join(dir, 'certctl.yaml') }, {}, dir, registry.sections());
  return { ...openStore(config, 'memory'), cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
});

describe('the CLI over a backend registered by a test', () => {
  let dir: string;
  let config: string;
  const run = (...args: string[]) => certctlInProcess(['--config', config, ...args]);
  const ok = async (...args: string[]) => {
    const r = await run(...args);
    if (r.status !== 0) throw new Error(`certctl ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    return r;
  };
  const serials = async (...backend: string[]) =>
    ((await ok(...backend, 'list', '--json')).json!.result as { serial: string; status: string }[]).map((r) => `${r.serial}:${r.status}`).sort();

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'certctl-memory-cli-'));
    config = join(dir, 'certctl.yaml');
    writeFileSync(config, `backend: memory\nmemory:\n  space: cli-${randomBytes(4).toString('hex')}\nfile:\n  dir: ./pki\n`);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('init, issue, list, revoke and crl work through it; openssl reads the results', async () => {
    await ok('init', '--cn', 'Memory CA');
    const issued = await ok('issue', 'server', '--cn', 'a.example', '--dns', 'a.example', '--out', join(dir, 'tls'), '--json');
    const serial = issued.json!.result.certificates[0].serial;
    expect(serial).toMatch(/^[0-9A-F]+$/);
    expect(spawnSync('openssl', ['verify', '-CAfile', join(dir, 'tls', 'ca.pem'), join(dir, 'tls', 'cert.pem')], { encoding: 'utf8' }).stdout).toContain(
      ': OK',
    );
    expect(await serials()).toEqual([`${serial}:valid`]);
    await ok('revoke', serial, '--reason', 'superseded');
    const crl = await ok('crl');
    writeFileSync(join(dir, 'ca.crl'), crl.stdout);
    const text = spawnSync('openssl', ['crl', '-in', join(dir, 'ca.crl'), '-noout', '-text', '-CAfile', join(dir, 'tls', 'ca.pem')], { encoding: 'utf8' });
    expect(text.stderr).toContain('verify OK');
    expect(text.stdout.replace(/:/g, '')).toContain(serial);
    // Nothing was written to disk by the store: the file backend's directory does not exist.
    expect(existsSync(join(dir, 'pki'))).toBe(false);
  });

  it('accepts its alias and its own config section, and names a bad option of that section', async () => {
    await ok('--backend', 'mem', 'init', '--cn', 'Alias CA');
    expect((await ok('ca', 'show')).stdout).toMatch(/BEGIN CERTIFICATE/);
    writeFileSync(config, 'backend: memory\nmemory:\n  spaec: x\n');
    const bad = await run('list');
    expect(bad.status).toBe(3);
    expect(bad.stderr).toMatch(/memory: unknown key "spaec"/);
  });

  it('migrates to file and back with work on each side: inventories, revocations and CRL numbers carry over', async () => {
    await ok('init', '--cn', 'Round Trip CA');
    const first = await ok('issue', 'node', '--count', '3', '--json');
    const [a] = (first.json!.result.certificates as { serial: string }[]).map((c) => c.serial);
    await ok('revoke', a, '--reason', 'keyCompromise');
    const there = await ok('migrate', '--from', 'memory', '--to', 'file', '--json');
    expect(there.json!.result.cas[0]).toMatchObject({ ca: 'default', certificates: 3, revoked: 1, copied: 3 });
    expect(await serials('--backend', 'file')).toEqual(await serials());

    // Work on the file side (a new certificate, a revocation, two CRLs), then back into the memory
    // store that already holds the first three: the new one is copied, the revocation carried over.
    const b = (first.json!.result.certificates as { serial: string }[])[1].serial;
    await ok('--backend', 'file', 'issue', 'client', '--cn', 'after-the-move');
    await ok('--backend', 'file', 'revoke', b);
    await ok('--backend', 'file', 'crl');
    const fileCrl = await ok('--backend', 'file', 'crl');
    const dry = await ok('migrate', '--from', 'file', '--to', 'mem', '--dry-run');
    expect(dry.stdout).toMatch(/1 to copy, 1 revocation to carry over, 2 already there/);
    const back = await ok('migrate', '--from', 'file', '--to', 'mem', '--json');
    expect(back.json!.result.cas[0]).toMatchObject({ copied: 1, skipped: 2, revocationsCarried: 1 });
    expect(await serials()).toEqual(await serials('--backend', 'file'));
    expect(await serials()).toHaveLength(4);
    // The memory side numbers its next CRL past the file side's, and lists both revocations.
    const crlNumber = (pem: string) => {
      writeFileSync(join(dir, 'n.crl'), pem);
      return BigInt(
        `0x${/X509v3 CRL Number: *\n *([0-9A-F]+)/.exec(spawnSync('openssl', ['crl', '-in', join(dir, 'n.crl'), '-noout', '-text'], { encoding: 'utf8' }).stdout)![1]}`,
      );
    };
    const memCrl = (await ok('crl')).stdout;
    expect(crlNumber(memCrl)).toBeGreaterThan(crlNumber(fileCrl.stdout));
    writeFileSync(join(dir, 'mem.crl'), memCrl);
    const listed = spawnSync('openssl', ['crl', '-in', join(dir, 'mem.crl'), '-noout', '-text'], { encoding: 'utf8' }).stdout.replace(/:/g, '');
    expect(listed).toContain(a);
    expect(listed).toContain(b);

    const same = await run('migrate', '--from', 'memory', '--to', 'mem');
    expect(same.status).toBe(2);
    expect(same.stderr).toMatch(/same memory store/);
  });
});
