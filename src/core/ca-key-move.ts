import { X509Certificate } from 'node:crypto';
import { canRemoveCaKey, type CertStore } from './cert-store';
import { ConflictError, InternalError, NotFoundError, NotSupportedError, withContext } from './errors';
import { generateEncodedKey } from './key-encoding';
import { readPrivateKey } from './keys';
import type { CaKeyImporter } from './migration';
import { newSerial } from './serial';
import type { Signer } from './signer';

/** What happened to one CA's key in {@link moveCaKeysIntoSigner}. */
export interface CaKeyMove {
  ca: string;
  /** `moved`: imported, verified, removed from the store; `would-move` in a dry run; `no-key`: the store held none. */
  outcome: 'moved' | 'would-move' | 'no-key';
}

/** The outcome of {@link moveCaKeysIntoSigner}. */
export interface CaKeyMoveResult {
  store: string;
  signer: string;
  dryRun: boolean;
  cas: CaKeyMove[];
  notes: string[];
}

/**
 * Moves CA keys out of a store into a signer that keeps them (`migrate --import-ca-key --signer
 * NAME` with --from and --to naming the same store): for each CA, the key is decrypted in
 * memory, checked against the CA certificate and imported; then `signer` (the importing signer,
 * over the same store) signs a throwaway certificate for the CA, which must verify with the CA
 * certificate; only then is the key removed from the store. Nothing is stored by the check.
 * @throws NotSupportedError when the store cannot remove a CA key (before anything is done);
 *   NotFoundError for an unknown CA; ConflictError when the key does not match its certificate or
 *   the test signature does not verify (the key then stays in the store); what the importer throws.
 */
export async function moveCaKeysIntoSigner(
  store: CertStore,
  importer: CaKeyImporter,
  signer: Signer,
  options: { cas?: string[]; dryRun?: boolean; passphrase?: () => string | undefined },
): Promise<CaKeyMoveResult> {
  if (!canRemoveCaKey(store)) {
    throw new NotSupportedError(
      `the ${store.kind} store cannot remove a CA key, so certctl cannot move the key out of it; migrate to another store with --to and --import-ca-key instead`,
    );
  }
  const result: CaKeyMoveResult = { store: store.kind, signer: importer.name, dryRun: Boolean(options.dryRun), cas: [], notes: [] };
  const names = options.cas ?? (await store.listCas());
  // Everything is checked before anything is imported: a bad CA stops the run with nothing moved.
  const plans = [];
  for (const ca of names) {
    const record = await store.getCa(ca);
    if (!record) throw new NotFoundError(`no CA "${ca}" in the ${store.kind} store`);
    const keyPem = await store.getCaKey(ca).catch((err) => {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    });
    if (keyPem === undefined) {
      result.cas.push({ ca, outcome: 'no-key' });
      continue;
    }
    const key = readPrivateKey(keyPem, record.keyEncrypted ? options.passphrase?.() : undefined, `the key of CA "${ca}" in the ${store.kind} store`);
    if (!new X509Certificate(record.certPem).checkPrivateKey(key)) {
      throw new ConflictError(`the key of CA "${ca}" in the ${store.kind} store does not match its certificate; nothing was moved`);
    }
    await importer.checkAdoptable(record);
    plans.push({ record, key });
  }
  for (const { record, key } of plans) {
    if (options.dryRun) {
      result.cas.push({ ca: record.name, outcome: 'would-move' });
      continue;
    }
    result.notes.push(...(await importer.adoptCa(record, key.export({ type: 'pkcs8', format: 'pem' }) as string)));
    await probe(signer, record.name, record.certPem);
    try {
      await store.removeCaKey(record.name);
    } catch (err) {
      throw withContext(
        err,
        `the key of CA "${record.name}" is in ${importer.name} and signs there, but removing it from the ${store.kind} store failed: ${(err as Error).message}; run the command again`,
      );
    }
    result.cas.push({ ca: record.name, outcome: 'moved' });
  }
  return result;
}

/** Has `signer` sign a throwaway one-minute certificate for `ca` and checks it against the CA certificate. */
async function probe(signer: Signer, ca: string, caPem: string): Promise<void> {
  const key = await generateEncodedKey('ec-p256');
  const now = Math.floor(Date.now() / 1000);
  const [der] = await signer.sign(ca, [
    {
      serial: newSerial(),
      commonName: 'certctl key move check',
      dnsNames: [],
      ipAddresses: [],
      notBefore: new Date((now - 60) * 1000),
      notAfter: new Date((now + 60) * 1000),
      keyType: 'ec-p256',
      spkiDer: key.spkiDer,
      keyUsage: ['digitalSignature'],
      extKeyUsage: ['clientAuth'],
      basicConstraints: { ca: false },
    },
  ]);
  if (!der) throw new InternalError(`the ${signer.kind} signer returned no certificate for the test signature of CA "${ca}"`);
  if (!new X509Certificate(der).verify(new X509Certificate(caPem).publicKey)) {
    throw new ConflictError(
      `a test certificate the ${signer.kind} signer made for CA "${ca}" does not verify with the CA certificate; the key stays in the store`,
    );
  }
}
