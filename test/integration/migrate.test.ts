/**
 * `certctl migrate` as an operator runs it (the built CLI): file → file with no server, then
 * every hop among file, Barbican and Vault KV against the real servers: a CA with 200
 * certificates (some revoked) goes round and comes back with the same inventory, CA, keys
 * (byte for byte) and CRL, whose number keeps counting. Also an interrupted migration (the
 * process killed midway) re-run to completion, a target that refuses an object, and
 * `--delete-source`: file → barbican → file with the source deleted after each hop leaves
 * nothing of the CA in Barbican, and the same through Vault KV (a Vault PKI issuer survives).
 */
import { treeDigest } from '../support/digest';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileCertStore } from '../../src/backends/file/file-cert-store';
import { loadConfig } from '../../src/core/config/load';
import { newSerial, serialToHex } from '../../src/core/serial';
import type { CertificateRecord } from '../../src/core/types';
import { CERTCTL_BIN, certctl, ok, requireBuiltCli, tempDir } from '../support/cli';
import { bySerial, migrate, readCrl, seed, writeConfig, type StoreKind } from '../support/migrate-cli';
import { describeWithOpenStack, describeWithVault, freshPrefix, inspector, vaultCurl, vaultEnv, type VaultServer } from '../support/servers';

jest.setTimeout(600000);

/**
 * Moves CA "default" along `hops` (file first and last; the last hop into ./back) and checks
 * that what comes back is what left: inventory, CA certificate and key, every certificate and
 * leaf key byte for byte, and a CRL listing the same revocations with the next number.
 */
async function roundTrip(dir: string, env: Record<string, string>, hops: StoreKind[], count: number, revoke: number): Promise<void> {
  const { serials, revoked } = await seed(dir, env, count, revoke);
  const list: CertificateRecord[] = ok(dir, ['list', '--json'], env).json!.result;
  const caPem = ok(dir, ['ca', 'show'], env).stdout;
  writeFileSync(join(dir, 'ca.pem'), caPem);
  const sourceTree = treeDigest(join(dir, 'pki'));

  for (let i = 1; i < hops.length; i++) {
    const [from, to] = [hops[i - 1], hops[i]];
    const toDir = i === hops.length - 1 ? ['--to-dir', 'back'] : [];
    const dry = migrate(dir, env, from, to, ['--dry-run', ...toDir]);
    expect(dry.cas).toEqual([expect.objectContaining({ ca: 'default', caAction: 'create', certificates: count, revoked: revoke, copied: count, verified: 0 })]);
    const result = migrate(dir, env, from, to, toDir);
    expect(`${from} → ${to}: ${JSON.stringify(result.cas)}`).toBe(
      `${from} → ${to}: ${JSON.stringify([{ ca: 'default', caAction: 'create', caKey: true, certificates: count, revoked: revoke, copied: count, revocationsCarried: 0, skipped: 0, targetOnly: 0, verified: count, crlNumber: '1', targetCrlNumber: '0' }])}`,
    );
    // Run again: everything is found in the target and verified, nothing is written twice.
    expect(migrate(dir, env, from, to, toDir).cas[0]).toMatchObject({ caAction: 'reuse', copied: 0, skipped: count, verified: count });
  }

  const back = { ...env, CERTCTL_FILE_DIR: join(dir, 'back') };
  expect(treeDigest(join(dir, 'pki'))).toEqual(sourceTree);
  // Same records; within one issuing instant the order may differ (Vault KV lists by issue time, then serial).
  const after: CertificateRecord[] = ok(dir, ['list', '--json'], back).json!.result;
  expect(bySerial(after)).toEqual(bySerial(list));
  expect(after.map((r) => r.issuedAt)).toEqual(list.map((r) => r.issuedAt));
  expect(ok(dir, ['ca', 'show'], back).stdout).toBe(caPem);
  const [a, b] = [new FileCertStore({ dir: join(dir, 'pki') }), new FileCertStore({ dir: join(dir, 'back') })];
  expect(await b.getCaKey('default')).toBe(await a.getCaKey('default'));
  for (const serial of serials) {
    expect(await b.getKey('default', serial)).toBe(await a.getKey('default', serial));
    expect((await b.get('default', serial))?.certPem).toBe((await a.get('default', serial))?.certPem);
  }
  const crl = readCrl(dir, ok(dir, ['crl'], back).stdout, join(dir, 'ca.pem'));
  expect(crl.serials).toEqual(revoked.map((s) => s.replace(/^0+/, '')).sort());
  // The source drew CRL 1 and every hop carried the counter, so the first CRL after the trip is 2.
  expect(crl.number).toBe('2');
}

/**
 * `--delete-source` along `hops` (file first and last; the last hop into ./back): after each hop
 * the source store no longer holds the CA and the target holds everything of it; what comes
 * back matches what left. Returns each hop's --json result.
 */
async function deletingTrip(dir: string, env: Record<string, string>, hops: StoreKind[], count: number, revoke: number): Promise<any[]> {
  const { serials } = await seed(dir, env, count, revoke);
  const list: CertificateRecord[] = ok(dir, ['list', '--json'], env).json!.result;
  const caPem = ok(dir, ['ca', 'show'], env).stdout;
  const original = new FileCertStore({ dir: join(dir, 'pki') });
  const keys = new Map<string, string | undefined>();
  for (const serial of serials) keys.set(serial, await original.getKey('default', serial));
  const caKey = await original.getCaKey('default');
  const results: any[] = [];
  for (let i = 1; i < hops.length; i++) {
    const [from, to] = [hops[i - 1], hops[i]];
    const toDir = i === hops.length - 1 ? ['--to-dir', 'back'] : [];
    const result = migrate(dir, env, from, to, ['--delete-source', ...toDir]);
    expect(result.deleteSource).toBe(true);
    expect(result.cas).toEqual([
      expect.objectContaining({ ca: 'default', certificates: count, revoked: revoke, copied: count, verified: count, sourceDeleted: true }),
    ]);
    results.push(result);
    // The source no longer has the CA: migrating from it again finds nothing.
    const fromDir = from === 'file' ? ['--from-dir', 'pki'] : [];
    const again = certctl(dir, ['--ca', 'default', 'migrate', '--from', from, ...fromDir, '--to', to, ...toDir, '--json'], env);
    expect(again.status).toBe(4);
  }
  expect(existsSync(join(dir, 'pki', 'default'))).toBe(false);
  const back = { ...env, CERTCTL_FILE_DIR: join(dir, 'back') };
  expect(ok(dir, ['ca', 'show'], back).stdout).toBe(caPem);
  expect(bySerial(ok(dir, ['list', '--json'], back).json!.result)).toEqual(bySerial(list));
  const b = new FileCertStore({ dir: join(dir, 'back') });
  expect(await b.getCaKey('default')).toBe(caKey);
  for (const serial of serials) expect(await b.getKey('default', serial)).toBe(keys.get(serial));
  expect(await b.raiseCrlNumber('default', 0n)).toBe(1n);
  return results;
}

describe('certctl migrate file → file (built CLI, no server)', () => {
  beforeAll(requireBuiltCli);

  it('round trip to another directory: same inventory, CA, keys byte for byte, CRL numbers continuing', async () => {
    const t = tempDir('certctl-migrate-e2e-');
    try {
      writeConfig(t.dir);
      await roundTrip(t.dir, {}, ['file', 'file'], 60, 7);
    } finally {
      t.cleanup();
    }
  });

  it('refuses what it cannot do, before writing anything', () => {
    const t = tempDir('certctl-migrate-e2e-');
    try {
      writeConfig(t.dir);
      ok(t.dir, ['init', '--cn', 'Refusals']);
      // --delete-source with --dry-run only says what it would do.
      const before = treeDigest(join(t.dir, 'pki'));
      const dry = ok(t.dir, ['migrate', '--from', 'file', '--to', 'file', '--to-dir', 'other', '--delete-source', '--dry-run']);
      expect(dry.stdout).toMatch(/dry run, nothing written.*\n.*CA "default": create it .*; then delete it from the file store/);
      expect(treeDigest(join(t.dir, 'pki'))).toEqual(before);
      const same = certctl(t.dir, ['migrate', '--from', 'file', '--to', 'file']);
      expect(same.status).toBe(2);
      expect(same.stderr).toMatch(/name the same file store .*give --to-dir DIR/);
      const typo = certctl(t.dir, ['migrate', '--from', 'file', '--to', 'vualt']);
      expect(typo.status).toBe(2);
      expect(typo.stderr).toMatch(/--to: unknown backend "vualt"; choose one of file, barbican, vault \(or vault-kv, vault-pki\)/);
      expect(certctl(t.dir, ['migrate', '--from', 'file', '--to', 'barbican', '--to-dir', 'x']).status).toBe(2);
      expect(existsSync(join(t.dir, 'other'))).toBe(false);
      // A different CA of the same name in the target: a conflict, nothing copied.
      ok(t.dir, ['init', '--cn', 'Someone else'], { CERTCTL_FILE_DIR: join(t.dir, 'other') });
      const conflict = certctl(t.dir, ['migrate', '--from', 'file', '--to', 'file', '--to-dir', 'other']);
      expect(conflict.status).toBe(8);
      expect(conflict.stderr).toMatch(/already has a different CA "default"/);
      const missing = certctl(t.dir, ['--ca', 'nope', 'migrate', '--from', 'file', '--to', 'file', '--to-dir', 'other']);
      expect(missing.status).toBe(4);
    } finally {
      t.cleanup();
    }
  });

  it('a migration killed midway (SIGKILL) re-runs to completion: no duplicates, nothing lost', async () => {
    const t = tempDir('certctl-migrate-kill-');
    try {
      writeConfig(t.dir);
      const { serials } = await seed(t.dir, {}, 3000, 30);
      const inventory = join(t.dir, 'other', 'default', 'inventory.jsonl');
      // Small batches make the copy long enough to kill it with some batches written and some not.
      const child = spawn(process.execPath, [CERTCTL_BIN, 'migrate', '--from', 'file', '--to', 'file', '--to-dir', 'other', '--batch-size', '5'], {
        cwd: t.dir,
        stdio: 'ignore',
      });
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      let lines = 0;
      for (let i = 0; i < 2000 && lines < 100; i++) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        lines = existsSync(inventory) ? readFileSync(inventory, 'utf8').split('\n').length - 1 : 0;
      }
      child.kill('SIGKILL');
      expect(await exited).toBeNull();
      const copiedBefore = readFileSync(inventory, 'utf8').split('\n').length - 1;
      expect(copiedBefore).toBeGreaterThan(0);
      expect(copiedBefore).toBeLessThan(3000);

      // The killed process's lock on the target CA goes stale after 30 s; the re-run waits that out.
      const result = migrate(t.dir, {}, 'file', 'file', ['--to-dir', 'other']);
      expect(result.cas[0]).toMatchObject({ caAction: 'reuse', certificates: 3000, copied: 3000 - copiedBefore, skipped: copiedBefore, verified: 3000 });
      const target = readFileSync(inventory, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).serial);
      expect(target).toHaveLength(3000);
      expect(new Set(target)).toEqual(new Set(serials));
    } finally {
      t.cleanup();
    }
  });
});

describeWithOpenStack('certctl migrate with a real Barbican', (openstack) => {
  const prefixes: string[] = [];
  const dirs: { cleanup(): void }[] = [];
  const setup = () => {
    const t = tempDir('certctl-migrate-barbican-');
    dirs.push(t);
    const barbicanPrefix = freshPrefix();
    prefixes.push(barbicanPrefix);
    writeConfig(t.dir, { openstack, barbicanPrefix });
    return { dir: t.dir, barbicanPrefix };
  };
  afterAll(async () => {
    for (const prefix of prefixes) {
      const dir = tempDir();
      writeConfig(dir.dir, { openstack, barbicanPrefix: prefix });
      await inspector(loadConfig({}, {}, dir.dir)).purge(prefix);
      dir.cleanup();
    }
    dirs.forEach((d) => d.cleanup());
  });

  it('file → barbican → file: 200 certificates (20 revoked) come back identical; Barbican serves them meanwhile', async () => {
    const { dir } = setup();
    await roundTrip(dir, {}, ['file', 'barbican', 'file'], 200, 20);
    const inBarbican = ok(dir, ['--backend', 'barbican', 'list', '--json']).json!.result;
    expect(inBarbican).toEqual(ok(dir, ['list', '--json']).json!.result);
  });

  it("a target that refuses an object (a certificate over Barbican's size limit) stops with a clear error; the source is intact", async () => {
    const { dir, barbicanPrefix } = setup();
    await seed(dir, {}, 10, 1);
    // A certificate PEM of 30,000 characters: more than Barbican stores in one secret.
    const store = new FileCertStore({ dir: join(dir, 'pki') });
    const template = (await store.list('default'))[3];
    const serial = serialToHex(newSerial());
    const body = Buffer.alloc(22000, 7).toString('base64').replace(/.{64}/g, '$&\n');
    await store.putIssued('default', [
      { record: { ...template, serial, hasKey: false }, certPem: `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----\n` },
    ]);
    const before = treeDigest(join(dir, 'pki'));

    const r = certctl(dir, ['migrate', '--from', 'file', '--to', 'barbican', '--batch-size', '4']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(
      new RegExp(`copying certificates 9–11 of 11 of CA "default" \\(serials [0-9A-F]+ … ${serial}\\) into the barbican store failed: .*too large`),
    );
    expect(r.stderr).toMatch(
      /The source is untouched and the 8 certificates before this batch are in the target; fix the cause and run the same command again/,
    );
    expect(r.stderr).not.toMatch(/PRIVATE KEY/);
    expect(treeDigest(join(dir, 'pki'))).toEqual(before);
    // Whole batches only: the two before the refused one, none of the refused batch's objects left behind.
    expect(ok(dir, ['--backend', 'barbican', 'list', '--json']).json!.result).toHaveLength(8);
    const left = await inspector(loadConfig({}, {}, dir)).objects(barbicanPrefix);
    expect(left.secrets.filter((s) => s.includes(serial))).toEqual([]);
  });

  it('--delete-source: file → barbican, then barbican → file, each deleting its source: nothing of the CA is left in Barbican', async () => {
    const { dir, barbicanPrefix } = setup();
    const inspect = inspector(loadConfig({}, {}, dir));
    await deletingTrip(dir, {}, ['file', 'barbican', 'file'], 40, 4);
    // Counted by name over the whole project: no secret, container or inventory segment under the prefix.
    const left = await inspect.objects(barbicanPrefix);
    expect(left).toEqual({ secrets: [], containers: [] });
  });

  it('a migration into Barbican killed midway (SIGKILL) re-runs to completion without duplicates', async () => {
    const { dir, barbicanPrefix } = setup();
    const { serials } = await seed(dir, {}, 60, 6);
    const inspect = inspector(loadConfig({}, {}, dir));
    const child = spawn(process.execPath, [CERTCTL_BIN, 'migrate', '--from', 'file', '--to', 'barbican', '--batch-size', '5'], { cwd: dir, stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // Killed once two batches are committed (their inventory segments written) and more are on their way.
    for (let i = 0; i < 1200; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const { secrets } = await inspect.objects(barbicanPrefix);
      if (secrets.filter((s) => s.startsWith(`${barbicanPrefix}/default/inventory `)).length >= 2) break;
    }
    child.kill('SIGKILL');
    expect(await exited).toBeNull();
    const before = ok(dir, ['--backend', 'barbican', 'list', '--json']).json!.result.length;
    expect(before).toBeGreaterThan(0);
    expect(before).toBeLessThan(60);

    const result = migrate(dir, {}, 'file', 'barbican');
    expect(result.cas[0]).toMatchObject({ caAction: 'reuse', certificates: 60, copied: 60 - before, skipped: before, verified: 60 });
    const after = ok(dir, ['--backend', 'barbican', 'list', '--json']).json!.result.map((r: { serial: string }) => r.serial);
    expect(after).toHaveLength(60);
    expect(new Set(after)).toEqual(new Set(serials));
  });
});

describeWithVault('certctl migrate with a real Vault KV v2', (vault: VaultServer) => {
  it('file → vault-kv → file: 200 certificates (20 revoked) come back identical', async () => {
    const t = tempDir('certctl-migrate-vault-');
    try {
      writeConfig(t.dir, { vaultPrefix: freshPrefix() });
      await roundTrip(t.dir, vaultEnv(vault), ['file', 'vault-kv', 'file'], 200, 20);
    } finally {
      t.cleanup();
    }
  });
  it('--delete-source: file → vault-kv, then vault-kv → file, each deleting its source: no KV entry of the CA is left', async () => {
    const t = tempDir('certctl-migrate-vault-del-');
    const vaultPrefix = freshPrefix();
    try {
      writeConfig(t.dir, { vaultPrefix });
      await deletingTrip(t.dir, vaultEnv(vault), ['file', 'vault-kv', 'file'], 40, 4);
      const listed = vaultCurl(vault, 'LIST', `secret/metadata/${vaultPrefix}`);
      expect(listed.status).toBe(404);
    } finally {
      t.cleanup();
    }
  });

  it('--delete-source from vault-kv of a CA whose key Vault PKI keeps deletes the KV copy only: the PKI issuer stays', () => {
    const t = tempDir('certctl-migrate-vault-pki-del-');
    const vaultPrefix = freshPrefix();
    const env = vaultEnv(vault);
    try {
      writeConfig(t.dir, { vaultPrefix });
      ok(t.dir, ['--backend', 'vault', '--ca', 'vroot', 'init', '--cn', 'Vault-held root'], env);
      ok(t.dir, ['--backend', 'vault', '--ca', 'vroot', 'issue', 'node', '--count', '3'], env);
      const issuersBefore = vaultCurl(vault, 'LIST', `pki-${vaultPrefix}/issuers`).json?.data?.keys;
      expect(issuersBefore?.length).toBeGreaterThan(0);
      const r = ok(t.dir, ['--ca', 'vroot', 'migrate', '--from', 'vault-kv', '--to', 'file', '--delete-source', '--json'], env);
      expect(r.json!.result.cas).toEqual([expect.objectContaining({ ca: 'vroot', caKey: false, certificates: 3, verified: 3, sourceDeleted: true })]);
      expect(r.json!.result.warnings).toEqual(
        expect.arrayContaining([
          expect.stringMatching(
            /--delete-source deletes only what the vault-kv store holds of it.*the CA key stays with its signer, which certctl does not touch/,
          ),
        ]),
      );
      expect(vaultCurl(vault, 'LIST', `secret/metadata/${vaultPrefix}`).status).toBe(404);
      expect(vaultCurl(vault, 'LIST', `pki-${vaultPrefix}/issuers`).json?.data?.keys).toEqual(issuersBefore);
      // Vault still signs for it, with the same CA the file store now keeps.
      expect(vaultCurl(vault, 'GET', `pki-${vaultPrefix}/ca/pem`).status).toBe(200);
    } finally {
      vaultCurl(vault, 'DELETE', `sys/mounts/pki-${vaultPrefix}`);
      t.cleanup();
    }
  });

  it('a CA whose key Vault PKI keeps moves to the file store as certificate and records, with a warning', () => {
    const t = tempDir('certctl-migrate-vault-pki-');
    const vaultPrefix = freshPrefix();
    const env = vaultEnv(vault);
    try {
      writeConfig(t.dir, { vaultPrefix });
      // Not "default": Vault PKI reserves that issuer name.
      ok(t.dir, ['--backend', 'vault', '--ca', 'vroot', 'init', '--cn', 'Vault-held root'], env);
      ok(t.dir, ['--backend', 'vault', '--ca', 'vroot', 'issue', 'node', '--count', '5'], env);
      const r = ok(t.dir, ['--ca', 'vroot', 'migrate', '--from', 'vault-kv', '--to', 'file', '--json'], env);
      expect(r.json!.result.cas).toEqual([expect.objectContaining({ ca: 'vroot', caKey: false, certificates: 5, copied: 5, verified: 5 })]);
      expect(r.json!.result.warnings).toEqual([expect.stringMatching(/CA "vroot" has no key in the vault-kv store \(its signer keeps it\)/)]);
      expect(ok(t.dir, ['--ca', 'vroot', 'ca', 'show'], env).stdout).toBe(ok(t.dir, ['--backend', 'vault', '--ca', 'vroot', 'ca', 'show'], env).stdout);
      expect(existsSync(join(t.dir, 'pki', 'vroot', 'ca.key'))).toBe(false);
    } finally {
      vaultCurl(vault, 'DELETE', `sys/mounts/pki-${vaultPrefix}`);
      t.cleanup();
    }
  });
});

describeWithOpenStack('certctl migrate through every store', (openstack) => {
  describeWithVault('file → barbican → vault-kv → file', (vault: VaultServer) => {
    it('a CA with 200 certificates (20 revoked) comes back with the same inventory, CA, CRL and keys byte for byte', async () => {
      const t = tempDir('certctl-migrate-all-');
      const barbicanPrefix = freshPrefix();
      try {
        writeConfig(t.dir, { openstack, barbicanPrefix, vaultPrefix: freshPrefix() });
        await roundTrip(t.dir, vaultEnv(vault), ['file', 'barbican', 'vault-kv', 'file'], 200, 20);
      } finally {
        await inspector(loadConfig({}, {}, t.dir)).purge(barbicanPrefix);
        t.cleanup();
      }
    });
  });
});
