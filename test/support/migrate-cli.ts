/** Helpers of the `certctl migrate` CLI tests: config, a seeded file store, migrate, CRL reading. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileCertStore } from '../../src/backends/file/file-cert-store';
import type { CertificateRecord } from '../../src/core/types';
import { ok, run } from './cli';
import type { OpenStackServers } from './servers';

/** The stores `migrate --from/--to` name. */
export type StoreKind = 'file' | 'barbican' | 'vault-kv';

/** A certctl.yaml with the file store in ./pki and, when given, a noauth Barbican and a Vault KV prefix of their own. */
export function writeConfig(dir: string, s?: { openstack?: OpenStackServers; barbicanPrefix?: string; vaultPrefix?: string }): void {
  let yaml = 'file:\n  dir: ./pki\n';
  if (s?.openstack) {
    yaml += `barbican:\n  endpoint: ${s.openstack.noauthEndpoint}\n  name_prefix: ${s.barbicanPrefix}\n  auth:\n    method: noauth\n    project_id: ${s.openstack.noauthProject}\n`;
  }
  if (s?.vaultPrefix) yaml += `vault:\n  pki_mount: pki-${s.vaultPrefix}\n  kv_mount: secret\n  kv_prefix: ${s.vaultPrefix}\n`;
  writeFileSync(join(dir, 'certctl.yaml'), yaml);
}

/** CA "default" in ./pki with `count` node certificates, `revoke` of them revoked, and one CRL drawn (number 1). */
export async function seed(dir: string, env: Record<string, string>, count: number, revoke: number): Promise<{ serials: string[]; revoked: string[] }> {
  ok(dir, ['init', '--cn', 'Migration E2E Root'], env);
  ok(dir, ['issue', 'node', '--count', String(count)], env);
  // Read from the store, not from --json: thousands of records outgrow spawnSync's output buffer.
  const serials = (await new FileCertStore({ dir: join(dir, 'pki') }).list('default')).map((r) => r.serial);
  const revoked = serials.slice(0, revoke);
  if (revoke) ok(dir, ['revoke', ...revoked, '--reason', 'keyCompromise'], env);
  ok(dir, ['crl'], env);
  return { serials, revoked };
}

/** `certctl migrate` that must succeed; returns its --json result. */
export function migrate(dir: string, env: Record<string, string>, from: StoreKind, to: StoreKind, extra: string[] = []): any {
  return ok(dir, ['migrate', '--from', from, '--to', to, '--json', ...extra], env).json!.result;
}

let crlFiles = 0;

/** Revoked serials and CRL number of a CRL, as openssl reads it, after openssl verified it against `caFile`. */
export function readCrl(dir: string, pem: string, caFile: string): { number: string; serials: string[] } {
  const path = join(dir, `crl-${++crlFiles}.pem`);
  writeFileSync(path, pem);
  const verified = run('openssl', ['crl', '-in', path, '-CAfile', caFile, '-noout']);
  expect(`${verified.stdout}${verified.stderr}`).toMatch(/verify OK/);
  const text = run('openssl', ['crl', '-in', path, '-noout', '-text']).stdout;
  return {
    number: /CRL Number:\s*\n?\s*(\d+)/.exec(text)?.[1] ?? '',
    serials: [...text.matchAll(/Serial Number: ([0-9A-F]+)/g)].map((m) => m[1].replace(/^0+/, '')).sort(),
  };
}

/** Records sorted by serial: stores list one issuing instant in different orders. */
export function bySerial(records: CertificateRecord[]): CertificateRecord[] {
  return [...records].sort((a, b) => a.serial.localeCompare(b.serial));
}
