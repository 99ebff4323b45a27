import type { IssueResult } from '../../core/issuance-service';
import type { ServerContext } from '../context';

/** The body of a signing answer (sign, renew, enroll), and the issued-certificates metric counted once. */
export function issuedBody(ctx: ServerContext, result: IssueResult) {
  const item = result.items[0];
  ctx.metrics.issued.inc({ ca: result.ca.name, profile: item.record.profile });
  return {
    serial: item.record.serial,
    ca: result.ca.name,
    profile: item.record.profile,
    notBefore: item.record.notBefore,
    notAfter: item.record.notAfter,
    certificate: item.certPem,
    chain: [result.ca.certPem, ...result.ca.chainPem],
    warnings: result.warnings,
  };
}
