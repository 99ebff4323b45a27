import { createHash } from 'node:crypto';

/** A certificate's SHA-256 fingerprint as `openssl x509 -noout -fingerprint -sha256` prints it: upper-case hex pairs joined by colons. */
export function sha256Fingerprint(der: Buffer): string {
  return createHash('sha256').update(der).digest('hex').toUpperCase().match(/../g)!.join(':');
}
