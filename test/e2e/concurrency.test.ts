import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CERTCTL_BIN, certctl, run, tempDir } from '../support/cli';

/** Runs certctl asynchronously so several processes overlap. */
function certctlAsync(cwd: string, args: string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CERTCTL_BIN, ...args], { cwd, stdio: 'ignore' });
    child.on('exit', (code) => resolve(code ?? -1));
  });
}

describe('file store under concurrent certctl processes', () => {
  const { dir, cleanup } = tempDir();
  afterAll(cleanup);

  it('six processes issuing at once get unique serials and every record survives', async () => {
    expect(certctl(dir, ['init', '--cn', 'Busy CA']).status).toBe(0);
    const codes = await Promise.all(
      Array.from({ length: 6 }, (_, i) => certctlAsync(dir, ['issue', 'node', '--count', '20', '--format', 'flocker', '--out', `out${i}`])),
    );
    expect(codes).toEqual([0, 0, 0, 0, 0, 0]);
    const list = certctl(dir, ['list', '--json']);
    const serials: string[] = list.json!.result.map((r: { serial: string }) => r.serial);
    expect(serials).toHaveLength(120);
    expect(new Set(serials).size).toBe(120);
    const lines = readFileSync(join(dir, 'pki', 'default', 'inventory.jsonl'), 'utf8')
      .trimEnd()
      .split('\n');
    expect(lines.every((l) => JSON.parse(l).e === 'issue')).toBe(true);
  });
});

describe('CA key encrypted at rest', () => {
  const { dir, cleanup } = tempDir();
  afterAll(cleanup);

  it('is PKCS#8 PBES2 AES-256 that openssl reads with the passphrase, and signing needs it', () => {
    writeFileSync(join(dir, 'pass'), 'correct horse battery staple\n');
    expect(certctl(dir, ['--passphrase-file', 'pass', 'init', '--cn', 'Locked CA']).status).toBe(0);
    const keyPath = join(dir, 'pki', 'default', 'ca.key');
    expect(readFileSync(keyPath, 'utf8')).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
    const parsed = run('openssl', ['asn1parse', '-in', keyPath]);
    expect(parsed.stdout).toContain('PBES2');
    expect(parsed.stdout).toContain('aes-256-cbc');
    expect(run('openssl', ['pkey', '-in', keyPath, '-passin', `file:${join(dir, 'pass')}`, '-noout']).status).toBe(0);
    expect(run('openssl', ['pkey', '-in', keyPath, '-passin', 'pass:wrong', '-noout']).status).not.toBe(0);
    const denied = certctl(dir, ['--json', 'issue', 'client', '--cn', 'a', '--out', 'a']);
    expect(denied.status).toBe(2);
    expect(denied.json?.error?.message).toMatch(/encrypted.*--passphrase-file/);
    expect(certctl(dir, ['issue', 'client', '--cn', 'a', '--out', 'a'], { CERTCTL_CA_PASSPHRASE: 'correct horse battery staple' }).status).toBe(0);
    expect(certctl(dir, ['--passphrase-file', 'pass', 'issue', 'client', '--cn', 'b', '--out', 'b']).status).toBe(0);
  });
});
