import { parseDuration } from '../../core/duration';
import { InvalidInputError, toCertctlError } from '../../core/errors';
import type { CertificateRecord } from '../../core/types';
import { expiringEntry, parseExpiryFlags, type ExpiringEntry } from '../expiry-flags';
import { parseOutTemplate } from '../out-template';
import { outputDelivery, outputSpec, type OutputFlags, type OutputSpec } from '../output/delivery';
import { checkOutDir } from '../output/layouts';
import { OUTCOME_CODES, emit, note, type GlobalOptions, type Runtime } from '../runtime';

/** The flags of `renew --expiring`. */
export interface RenewExpiringFlags extends OutputFlags {
  expiring: string;
  outTemplate: string;
  profile?: string;
  ttl?: string;
  dryRun?: boolean;
}

interface Failure {
  serial: string;
  commonName: string;
  profile: string;
  error: { code: string; message: string };
}
interface Skip {
  serial: string;
  commonName: string;
  reason: string;
  renewedBy?: string;
}
interface Planned {
  record: CertificateRecord;
  out: string;
}

/**
 * `renew --expiring D --out-template T`: renews every certificate `check --expiring D` reports, one
 * at a time, each all-or-nothing (its outputs are staged around its own store write), so one
 * failure neither undoes nor stops the others. Flags are checked, and the output directories
 * worked out, before anything is renewed.
 * @throws InvalidInputError for a bad flag or two certificates mapped to one directory (nothing renewed).
 */
export async function renewExpiring({ service, config }: Runtime, globals: GlobalOptions, flags: RenewExpiringFlags): Promise<void> {
  const { windowSeconds, profile } = parseExpiryFlags(flags, config);
  const template = parseOutTemplate(flags.outTemplate);
  const spec = outputSpec(flags, service.caName);
  const ttl = flags.ttl ? parseDuration(flags.ttl, '--ttl') : undefined;
  const now = new Date();
  const report = await service.expiring(windowSeconds, profile, now);
  const skipped: Skip[] = report.renewed.map(({ record, by }) => ({
    serial: record.serial,
    commonName: record.commonName,
    reason: `already renewed as ${by}`,
    renewedBy: by,
  }));
  const failed: Failure[] = [];
  const planned: Planned[] = [];
  for (const record of report.expiring) {
    if (record.profile === 'intermediate') {
      skipped.push({ serial: record.serial, commonName: record.commonName, reason: 'an intermediate CA; renew it with `certctl init --parent`' });
      continue;
    }
    try {
      if (spec.kubeconfig && !config.profiles[record.profile].extKeyUsage.includes('clientAuth')) {
        throw new InvalidInputError(
          `serial ${record.serial} (${record.profile}) has no clientAuth usage; a kubeconfig needs a client, peer or node certificate`,
        );
      }
      planned.push({ record, out: template.expand(record) });
    } catch (err) {
      failed.push(failure(record, err));
    }
  }
  refuseSharedDirectories(planned, template.text);
  if (flags.dryRun) {
    const wouldRenew = planned.map(({ record, out }) => ({ ...expiringEntry(record, now), out }));
    const human = [
      ...wouldRenew.map((e) => `would renew ${e.serial} (CN=${e.commonName}, ${e.daysLeft}d left) into ${e.out}`),
      ...summaryLines([], failed, skipped),
    ];
    human.push(`dry run: would renew ${wouldRenew.length}, would fail ${failed.length}, skip ${skipped.length}`);
    emit(globals, { dryRun: true, wouldRenew, failed, skipped }, human.join('\n'), failed.length ? OUTCOME_CODES.someFailed : 0);
    return;
  }
  const renewed = [];
  for (const { record, out } of planned) {
    try {
      renewed.push(await renewOne(service, globals, record, out, spec, ttl, now));
    } catch (err) {
      failed.push(failure(record, err));
    }
  }
  const human = [...summaryLines(renewed, failed, skipped), `renewed ${renewed.length}, failed ${failed.length}, skipped ${skipped.length}`];
  emit(
    globals,
    { renewed, failed, skipped, counts: { renewed: renewed.length, failed: failed.length, skipped: skipped.length } },
    human.join('\n'),
    failed.length ? OUTCOME_CODES.someFailed : 0,
  );
}

async function renewOne(
  service: Runtime['service'],
  globals: GlobalOptions,
  record: CertificateRecord,
  out: string,
  spec: OutputSpec,
  ttl: number | undefined,
  now: Date,
): Promise<ExpiringEntry & { renewedAs: string; newNotAfter: string; out: string; files: string[] }> {
  checkOutDir(out.replace(/(.)\/+$/, '$1'));
  let files: string[] = [];
  const result = await service.renew(
    record.serial,
    ttl,
    outputDelivery(spec, out, (paths) => (files = paths)),
  );
  result.warnings.forEach((w) => note(globals, `warning: ${record.serial}: ${w}`));
  const renewed = result.items[0].record;
  return { ...expiringEntry(record, now), renewedAs: renewed.serial, newNotAfter: renewed.notAfter, out, files };
}

function failure(record: CertificateRecord, err: unknown): Failure {
  const e = toCertctlError(err);
  return { serial: record.serial, commonName: record.commonName, profile: record.profile, error: { code: e.code, message: e.message } };
}

/** Two certificates written to one directory would overwrite each other's files: refused before any renewal. */
function refuseSharedDirectories(planned: Planned[], text: string): void {
  const byDir = new Map<string, string>();
  for (const { record, out } of planned) {
    const key = out.replace(/\/+$/, '');
    const other = byDir.get(key);
    if (other) {
      throw new InvalidInputError(
        `--out-template "${text}" sends serials ${other} and ${record.serial} to ${out}; add {serial} or {profile} to it (nothing was renewed)`,
      );
    }
    byDir.set(key, record.serial);
  }
}

function summaryLines(renewed: { serial: string; renewedAs: string; out: string }[], failed: Failure[], skipped: Skip[]): string[] {
  return [
    ...renewed.map((r) => `renewed ${r.serial} as ${r.renewedAs} into ${r.out}`),
    ...failed.map((f) => `failed  ${f.serial} (CN=${f.commonName}): ${f.error.message}`),
    ...skipped.map((s) => `skipped ${s.serial} (CN=${s.commonName}): ${s.reason}`),
  ];
}
