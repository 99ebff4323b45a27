import { createPrivateKey } from 'node:crypto';
import { join } from 'node:path';
import type { FileToWrite } from '../../core/fs-atomic';
import { NotFoundError } from '../../core/errors';
import type { CaRecord, IssuedCertificate } from '../../core/types';
import { pemBlocks } from '../../core/x509/pem';
import { rootOf, safeName } from '../layouts';

/** The PKCS#12 bundle of a certificate (key + leaf + chain) and the CA PEM next to it. */
export async function p12Files(dir: string, item: IssuedCertificate, ca: CaRecord, password: string, fileName?: string): Promise<FileToWrite[]> {
  const p12 = await p12Bundle(item, ca, password);
  const name = fileName ?? `${safeName(item.record.commonName, item.record.serial)}.p12`;
  return [
    { path: fileName ? fileName : join(dir, name), data: p12, mode: 0o600 },
    ...(fileName ? [] : [{ path: join(dir, 'ca.pem'), data: rootOf(ca), mode: 0o644 }]),
  ];
}

/**
 * Builds the PKCS#12 bytes.
 * @throws NotFoundError when the certificate's key is not held by the store.
 */
export async function p12Bundle(item: IssuedCertificate, ca: CaRecord, password: string): Promise<Buffer> {
  if (!item.keyPem) throw new NotFoundError(`serial ${item.record.serial}: PKCS#12 needs the private key, and the store holds none (signed from a CSR)`);
  const { buildPkcs12 } = await import('../../core/output/pkcs12');
  return buildPkcs12({
    keyPkcs8Der: createPrivateKey(item.keyPem).export({ type: 'pkcs8', format: 'der' }),
    certDer: pemBlocks(item.certPem, 'CERTIFICATE')[0],
    chainDer: [ca.certPem, ...ca.chainPem].flatMap((p) => pemBlocks(p, 'CERTIFICATE')),
    password,
    friendlyName: item.record.commonName || item.record.serial,
  });
}
