import { createHash } from 'node:crypto';
import { mapLimit } from './concurrency';
import { withContext } from './errors';
import { isRemoteSigner, type LeafSpec, type RemoteSigner, type Signer } from './signer';
import { serialToHex } from './serial';
import type { CaRecord, IssuedCertificate } from './types';
import { toPem } from './x509/pem';
import { checkSignedCertificate, type SignedFacts } from './x509/signed-check';
import { plural } from './text';

/** One certificate ready for the signer, and the key PEM the store keeps beside it (absent for a CSR). */
export interface PreparedLeaf {
  spec: LeafSpec;
  keyPem?: string;
}

/**
 * Makes the i-th leaf. `remote` says the signer is a RemoteSigner, which needs `spec.csrDer`:
 * the maker builds the CSR itself (it holds the key), so no private key reaches the signer.
 */
export type LeafMaker = (remote: boolean) => Promise<PreparedLeaf>;

/** Certificates signed per call of the local signer: big enough to amortise, small enough for steady progress. */
const CHUNK = 256;

/**
 * Signs `count` leaves of one profile with `signer` for CA `ca`, in order, and returns them as
 * the store takes them. A local signer gets them in batches; a RemoteSigner gets one per call
 * with `inFlight` calls in flight, each key made just before its request, and every certificate
 * it returns is checked against its request before anything is stored.
 * @throws InternalError when a remote signer's certificate differs from the request (naming the
 *   field); whatever the signer or the maker throws.
 */
export async function signLeaves(
  signer: Signer,
  ca: CaRecord,
  profile: string,
  count: number,
  make: LeafMaker,
  onProgress?: (done: number, total: number) => void,
): Promise<IssuedCertificate[]> {
  if (isRemoteSigner(signer)) return signRemotely(signer, ca, profile, count, make, onProgress);
  const items: IssuedCertificate[] = [];
  for (let start = 0; start < count; start += CHUNK) {
    const batch: PreparedLeaf[] = [];
    for (let i = start; i < Math.min(count, start + CHUNK); i++) batch.push(await make(false));
    const ders = await signer.sign(
      ca.name,
      batch.map((b) => b.spec),
    );
    ders.forEach((der, i) => items.push(toIssued(batch[i], profile, der)));
    onProgress?.(items.length, count);
  }
  return items;
}

/**
 * The RemoteSigner path: one certificate per call, `inFlight` calls at once. When one call fails
 * (or returns a certificate that fails the check), the calls in flight still finish: the
 * certificates the remote CA signed meanwhile exist there but are not stored, so the error names
 * their serials for revocation.
 */
async function signRemotely(
  signer: RemoteSigner,
  ca: CaRecord,
  profile: string,
  count: number,
  make: LeafMaker,
  onProgress?: (done: number, total: number) => void,
): Promise<IssuedCertificate[]> {
  let done = 0;
  const signed: string[] = [];
  try {
    return await mapLimit(
      Array.from({ length: count }, (_, i) => i),
      signer.inFlight,
      async () => {
        const leaf = await make(true);
        const [der] = await signer.sign(ca.name, [leaf.spec]);
        const facts = checkSignedCertificate(der, leaf.spec, ca.certPem, signer.kind);
        signed.push(facts.serial);
        onProgress?.(++done, count);
        return toIssued(leaf, profile, der, facts);
      },
    );
  } catch (err) {
    if (signed.length === 0) throw err;
    throw withContext(
      err,
      `${(err as Error).message}. Nothing was stored; the ${signer.kind} signer had already signed ${plural(signed.length, 'other certificate')} of this request, which exist there unrecorded — revoke ${signed.length === 1 ? 'it' : 'them'} at that CA: ${signed.join(', ')}`,
    );
  }
}

/** The store's view of a signed leaf; `facts` (from a remote CA) win over what the spec asked for. */
function toIssued(leaf: PreparedLeaf, profile: string, der: Buffer, facts?: SignedFacts): IssuedCertificate {
  const { spec, keyPem } = leaf;
  return {
    record: {
      serial: facts ? facts.serial : serialToHex(spec.serial),
      profile,
      commonName: spec.commonName,
      ...(spec.subject ? { subject: spec.subject } : {}),
      dnsNames: spec.dnsNames,
      ipAddresses: spec.ipAddresses,
      ...(spec.uris ? { uris: spec.uris } : {}),
      ...(spec.emails ? { emails: spec.emails } : {}),
      keyType: spec.keyType,
      notBefore: (facts ? facts.notBefore : spec.notBefore).toISOString(),
      notAfter: (facts ? facts.notAfter : spec.notAfter).toISOString(),
      issuedAt: new Date().toISOString(),
      hasKey: keyPem !== undefined,
      sha256: createHash('sha256').update(der).digest('hex'),
      status: 'valid',
    },
    certPem: toPem(der, 'CERTIFICATE'),
    keyPem,
  };
}
