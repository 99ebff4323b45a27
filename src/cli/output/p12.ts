import { createPrivateKey } from 'node:crypto';
import { join } from 'node:path';
import type { FileToWrite } from '../../core/fs-atomic';
import { InvalidInputError, NotFoundError } from '../../core/errors';
import { secretSource } from '../../core/secrets';
import type { CaRecord, IssuedCertificate } from '../../core/types';
import { pemBlocks } from '../../core/x509/pem';
import { rootOf, safeName } from './layouts';

/**
 * The PKCS#12 password: --password-file, else CERTCTL_P12_PASSWORD.
 * @throws InvalidInputError when neither is given, or the file is unreadable or empty.
 */
export function p12Password(file: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const password = secretSource(file, '--password-file', 'CERTCTL_P12_PASSWORD', env).get();
  if (password === undefined) throw new InvalidInputError('--format p12 needs a password: give --password-file FILE or set CERTCTL_P12_PASSWORD');
  return password;
}

/**
 * The p12 layout in `dir`: `<CN>.p12` (key + leaf + chain) and the root as ca.pem beside it.
 * @throws what {@link p12Bundle} throws.
 */
export async function p12Files(dir: string, item: IssuedCertificate, ca: CaRecord, password: string): Promise<FileToWrite[]> {
  return [
    { path: join(dir, `${safeName(item.record.commonName, item.record.serial)}.p12`), data: await p12Bundle(item, ca, password), mode: 0o600 },
    { path: join(dir, 'ca.pem'), data: rootOf(ca), mode: 0o644 },
  ];
}

/**
 * Builds the PKCS#12 bytes.
 * @throws NotFoundError when the certificate's key is not held by the store.
 */
export async function p12Bundle(item: IssuedCertificate, ca: CaRecord, password: string): Promise<Buffer> {
  if (!item.keyPem) throw new NotFoundError(`serial ${item.record.serial}: PKCS#12 needs the private key, and the store holds none (signed from a CSR)`);
  // pkijs and asn1js load only when a PKCS#12 is asked for.
  const { buildPkcs12 } = require('../../core/output/pkcs12') as typeof import('../../core/output/pkcs12');
  return buildPkcs12({
    keyPkcs8Der: createPrivateKey(item.keyPem).export({ type: 'pkcs8', format: 'der' }),
    certDer: pemBlocks(item.certPem, 'CERTIFICATE')[0],
    chainDer: [ca.certPem, ...ca.chainPem].flatMap((p) => pemBlocks(p, 'CERTIFICATE')),
    password,
    friendlyName: item.record.commonName || item.record.serial,
  });
}
