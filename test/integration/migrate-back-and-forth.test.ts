/**
 * Switching a CA between stores and back (issue #10), as an operator does it with the built CLI
 * against the real servers: file → barbican and file → vault-kv with the source kept, work done
 * on the middle store (certificates issued, an old one revoked, CRLs drawn), a migration the
 * wrong way refused as a conflict with nothing written, then the move back into the ORIGINAL
 * directory: the dry run states what the real run does, and afterwards both sides list and show
 * the same, and the file side's CRL lists the revocation with a number above the middle store's.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/core/config/load';
import type { CertificateRecord } from '../../src/core/types';
import { certctl, ok, requireBuiltCli, tempDir } from '../support/cli';
import { bySerial, migrate, readCrl, seed, writeConfig } from '../support/migrate-cli';
import { describeWithOpenStack, describeWithVault, freshPrefix, inspector, vaultCurl, vaultEnv, type VaultServer } from '../support/servers';

jest.setTimeout(600000);

/** The store the CA visits, and how certctl runs on it (its flags and environment). */
interface Middle {
  kind: 'barbican' | 'vault-kv';
  args: string[];
  env: Record<string, string>;
  /** Every object the store holds under the test's prefix (with its version where it has one), for "nothing was written". */
  objects(): Promise<string[]>;
}

/**
 * file → middle (source kept), work on the middle, a refused migration the wrong way, then
 * middle → file into the original ./pki; checks both sides end equal.
 */
async function backAndForth(dir: string, env: Record<string, string>, middle: Middle): Promise<void> {
  const { serials, revoked } = await seed(dir, env, 20, 2);
  writeFileSync(join(dir, 'ca.pem'), ok(dir, ['ca', 'show'], env).stdout);
  migrate(dir, env, 'file', middle.kind);

  const onMiddle = (args: string[]) => ok(dir, [...middle.args, ...args], { ...env, ...middle.env });
  const issued: string[] = onMiddle(['issue', 'node', '--count', '2', '--json']).json!.result.certificates.map((c: { serial: string }) => c.serial);
  const revokedThere = serials[5];
  onMiddle(['revoke', revokedThere, '--reason', 'superseded']);
  onMiddle(['crl']);
  const middleCrl = readCrl(dir, onMiddle(['crl']).stdout, join(dir, 'ca.pem'));
  expect(middleCrl.number).toBe('3');

  // The wrong way: the file side still holds as valid what the middle revoked. A second CA that
  // only the file side has would be created by a run that went ahead; nothing at all is written.
  ok(dir, ['--ca', 'second', 'init', '--cn', 'Second CA'], env);
  const before = await middle.objects();
  expect(before.length).toBeGreaterThan(22);
  for (const dryRun of [['--dry-run'], []]) {
    const refused = certctl(dir, ['migrate', '--from', 'file', '--to', middle.kind, ...dryRun], env);
    expect(refused.status).toBe(8);
    expect(refused.stderr).toMatch(
      new RegExp(
        `CA "default": 1 certificate conflicts: ${revokedThere} \\(revoked in the target at \\S+ \\(superseded\\) but valid in the source\\)\\. Nothing was written to either store`,
      ),
    );
  }
  expect(await middle.objects()).toEqual(before);

  // Back into the original directory: the dry run says exactly what the real run does.
  const planned = {
    ca: 'default',
    caAction: 'reuse',
    caKey: true,
    certificates: 22,
    revoked: 3,
    copied: 2,
    revocationsCarried: 1,
    skipped: 19,
    targetOnly: 0,
    verified: 0,
    crlNumber: '3',
    targetCrlNumber: '1',
  };
  expect(migrate(dir, env, middle.kind, 'file', ['--dry-run']).cas).toEqual([planned]);
  expect(ok(dir, ['migrate', '--from', middle.kind, '--to', 'file', '--dry-run'], env).stdout).toContain(
    'CA "default": already there, reuse it; 22 certificates (3 revoked): 2 to copy, 1 revocation to carry over, 19 already there; CRL number to raise from 1 to 3',
  );
  expect(migrate(dir, env, middle.kind, 'file').cas).toEqual([{ ...planned, verified: 22 }]);

  const fileList: CertificateRecord[] = ok(dir, ['list', '--json'], env).json!.result;
  expect(bySerial(fileList)).toEqual(bySerial(onMiddle(['list', '--json']).json!.result));
  expect(fileList).toHaveLength(22);
  for (const serial of [revokedThere, ...issued, revoked[0]]) {
    expect(ok(dir, ['show', serial, '--json'], env).json!.result).toEqual(onMiddle(['show', serial, '--json']).json!.result);
  }
  const fileCrl = readCrl(dir, ok(dir, ['crl'], env).stdout, join(dir, 'ca.pem'));
  expect(fileCrl.serials).toEqual([...revoked, revokedThere].map((s) => s.replace(/^0+/, '')).sort());
  expect(Number(fileCrl.number)).toBeGreaterThan(Number(middleCrl.number));
  // Nothing left to do; the file side's CRL number (4 now) is ahead and stays.
  expect(migrate(dir, env, middle.kind, 'file').cas[0]).toMatchObject({ copied: 0, revocationsCarried: 0, skipped: 22, verified: 22, targetCrlNumber: '4' });
}

describeWithOpenStack('certctl migrate file → barbican → file, with work on Barbican', (openstack) => {
  beforeAll(requireBuiltCli);

  it('revocations and the CRL number carry back into the original directory; the wrong way is refused with nothing written', async () => {
    const t = tempDir('certctl-migrate-back-barbican-');
    const barbicanPrefix = freshPrefix();
    const inspect = () => inspector(loadConfig({}, {}, t.dir));
    try {
      writeConfig(t.dir, { openstack, barbicanPrefix });
      await backAndForth(
        t.dir,
        {},
        {
          kind: 'barbican',
          args: ['--backend', 'barbican'],
          env: {},
          objects: async () => {
            const { secrets, containers } = await inspect().objects(barbicanPrefix);
            return [...secrets.map((s) => `secret ${s}`), ...containers.map((c) => `container ${c}`)].sort();
          },
        },
      );
    } finally {
      await inspect().purge(barbicanPrefix);
      t.cleanup();
    }
  });
});

/** Every KV v2 entry under `path` as `path@version`: a write to any of them changes this. */
function kvEntries(vault: VaultServer, path: string): string[] {
  const listed = vaultCurl(vault, 'LIST', `secret/metadata/${path}`);
  if (listed.status === 404) return [];
  const out: string[] = [];
  for (const key of listed.json.data.keys as string[]) {
    if (key.endsWith('/')) out.push(...kvEntries(vault, `${path}/${key.slice(0, -1)}`));
    else out.push(`${path}/${key}@${vaultCurl(vault, 'GET', `secret/metadata/${path}/${key}`).json.data.current_version}`);
  }
  return out.sort();
}

describeWithVault('certctl migrate file → vault-kv → file, with work on Vault KV', (vault: VaultServer) => {
  beforeAll(requireBuiltCli);

  it('revocations and the CRL number carry back into the original directory; the wrong way is refused with nothing written', async () => {
    const t = tempDir('certctl-migrate-back-vault-');
    const vaultPrefix = freshPrefix();
    try {
      writeConfig(t.dir, { vaultPrefix });
      // The local signer over the Vault KV store: the CA key moved there with the CA.
      await backAndForth(t.dir, vaultEnv(vault), {
        kind: 'vault-kv',
        args: [],
        env: { CERTCTL_SIGNER: 'file', CERTCTL_STORE: 'vault-kv' },
        objects: async () => kvEntries(vault, vaultPrefix),
      });
    } finally {
      t.cleanup();
    }
  });
});
