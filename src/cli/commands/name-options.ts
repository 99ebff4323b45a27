import type { Command } from 'commander';
import type { SubjectAttributes } from '../../core/x509/subject';
import { collect } from '../runtime';

/** The flags of {@link addNameOptions}, as commander parses them. */
export interface NameOptions {
  uri?: string[];
  email?: string[];
  org?: string[];
  ou?: string[];
  country?: string[];
  state?: string[];
  locality?: string[];
  subjectSerial?: string;
}

/** Adds the subject-attribute and URI/email SAN flags; each is checked by the core against the profile's `allowed_*` keys. */
export function addNameOptions(command: Command): Command {
  return command
    .option('--uri <uri>', 'URI subject alternative name, e.g. a SPIFFE ID (repeatable; profile allowed_uris)', collect)
    .option('--email <addr>', 'email subject alternative name (repeatable; profile allowed_emails)', collect)
    .option('--org <O>', 'subject O, e.g. system:masters (repeatable; profile allowed_organizations)', collect)
    .option('--ou <OU>', 'subject OU (repeatable; profile allowed_organizational_units)', collect)
    .option('--country <C>', 'subject C, two upper-case letters (profile allowed_countries)', collect)
    .option('--state <ST>', 'subject ST, state or province (profile allowed_states)', collect)
    .option('--locality <L>', 'subject L (profile allowed_localities)', collect)
    .option('--subject-serial <text>', 'subject serialNumber attribute, not the certificate serial (profile allowed_serial_numbers)')
    .addHelpText(
      'after',
      `  certctl issue client --cn admin --org system:masters --out admin/   # with profiles.client.allowed_organizations
  certctl issue workload --cn api --uri spiffe://prod.example/ns/web/sa/api   # a custom profile with allowed_uris`,
    );
}

/** The subject attributes the flags ask for; the core checks them against the profile. */
export function subjectFlags(opts: NameOptions): SubjectAttributes {
  const subject: SubjectAttributes = {};
  const pairs: [keyof SubjectAttributes, string[] | undefined][] = [
    ['C', opts.country],
    ['ST', opts.state],
    ['L', opts.locality],
    ['O', opts.org],
    ['OU', opts.ou],
    ['serialNumber', opts.subjectSerial === undefined ? undefined : [opts.subjectSerial]],
  ];
  for (const [type, values] of pairs) if (values?.length) subject[type] = values;
  return subject;
}
