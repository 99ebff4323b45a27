import type { Command } from 'commander';
import { parseSerial } from '../../core/serial';
import type { CertificateRecord } from '../../core/types';
import { action, emit, note } from '../runtime';

/** `certctl show SERIAL`: one certificate's record and PEM. */
export function registerShow(program: Command): void {
  program
    .command('show')
    .description('show one certificate: its inventory record and PEM')
    .argument('<serial>', 'serial as `openssl x509 -serial` prints it (any case, colons optional)')
    .addHelpText(
      'after',
      `
Examples:
  certctl show 3A:F1:0B:…
  certctl show "$(openssl x509 -in cert.pem -noout -serial)"`,
    )
    .action(
      action(async ({ service }, globals, serialText: string) => {
        const { record, certPem } = await service.requireCertificate(parseSerial(serialText));
        for (const warning of await service.crossCheck([record])) note(globals, `warning: ${warning}`);
        const lines = [
          `serial:      ${record.serial}`,
          `profile:     ${record.profile}`,
          `status:      ${record.status}${record.revokedAt ? ` at ${record.revokedAt} (${record.revocationReason})` : ''}`,
          `subject:     ${subjectText(record) || '(empty)'}`,
          `dns names:   ${record.dnsNames.join(', ') || '-'}`,
          `ip addresses: ${record.ipAddresses.join(', ') || '-'}`,
          `uris:        ${record.uris?.join(', ') || '-'}`,
          `emails:      ${record.emails?.join(', ') || '-'}`,
          `key type:    ${record.keyType}${record.hasKey ? ' (key held by the store)' : ''}`,
          `not before:  ${record.notBefore}`,
          `not after:   ${record.notAfter}`,
          `sha256:      ${record.sha256}`,
          certPem,
        ];
        emit(globals, { ...record, certificate: certPem }, lines.join('\n'));
      }),
    );
}

/** The subject as openssl prints it (C, ST, L, O, OU, CN, serialNumber). */
function subjectText(record: CertificateRecord): string {
  const s = record.subject ?? {};
  const parts = (['C', 'ST', 'L', 'O', 'OU'] as const).flatMap((t) => (s[t] ?? []).map((v) => `${t}=${v}`));
  if (record.commonName) parts.push(`CN=${record.commonName}`);
  parts.push(...(s.serialNumber ?? []).map((v) => `serialNumber=${v}`));
  return parts.join(', ');
}
