import type { Command } from 'commander';
import { parseDuration } from '../../core/duration';
import type { CertificateRecord } from '../../core/types';
import { action, emit, note } from '../runtime';

/** `certctl list`: the inventory. */
export function registerList(program: Command): void {
  program
    .command('list')
    .description('list issued certificates')
    .option('--expiring <duration>', 'only valid certificates expiring within this time, e.g. 30d')
    .option('--revoked', 'only revoked certificates')
    .addHelpText(
      'after',
      `
Examples:
  certctl list
  certctl list --expiring 30d --json | jq -r '.result[].serial'`,
    )
    .action(
      action(async ({ service }, globals, opts: { expiring?: string; revoked?: boolean }) => {
        const expiringBefore = opts.expiring ? new Date(Date.now() + parseDuration(opts.expiring, '--expiring') * 1000) : undefined;
        const records = await service.list({ expiringBefore, revokedOnly: opts.revoked });
        for (const warning of await service.crossCheck(records)) note(globals, `warning: ${warning}`);
        emit(globals, records, globals.json ? undefined : table(records));
      }),
    );
}

function table(records: CertificateRecord[]): string {
  if (records.length === 0) return '';
  const rows = records.map((r) => [
    r.serial,
    r.profile,
    r.status === 'revoked' ? `revoked(${r.revocationReason})` : Date.parse(r.notAfter) < Date.now() ? 'expired' : 'valid',
    r.notAfter.slice(0, 19) + 'Z',
    [r.commonName, ...r.dnsNames, ...r.ipAddresses, ...(r.uris ?? []), ...(r.emails ?? [])]
      .filter(Boolean)
      .filter((v, i, a) => a.indexOf(v) === i)
      .join(','),
  ]);
  const header = ['SERIAL', 'PROFILE', 'STATUS', 'NOT AFTER', 'NAMES'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  return [header, ...rows].map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ')).join('\n');
}
