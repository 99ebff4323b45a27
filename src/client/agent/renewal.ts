/**
 * One renewal by the agent: a new key of the same type, a CSR for the same names, `POST /v1/renew`
 * over mTLS with the certificate being renewed, the answer checked, the files replaced.
 *
 * A new key on every renewal (rekey), never the same key certified again: a key that leaked stops
 * being useful at the next renewal, and it is the only renewal a signer that signs only CSRs (Vault)
 * can do — the server cannot build a CSR for a key it does not hold.
 */
import { X509Certificate } from 'node:crypto';
import { certificateNames, type CertificateNames } from '../../core/csr';
import { InternalError } from '../../core/errors';
import { generateEncodedKey, type EncodedKey } from '../../core/key-encoding';
import { keyTypeOf } from '../../core/keys';
import { buildCsrDer } from '../../core/x509/csr-builder';
import { pemBlocks, toPem } from '../../core/x509/pem';
import { createDerSigner } from '../../core/x509/signing';
import { ServerClient, type IssuedAnswer } from '../server-client';
import { readCredentials, replaceCredentials, type AgentFiles, type Credentials } from './credentials';

/** Where the agent renews, and the files it keeps current. */
export interface RenewalTarget {
  server: string;
  files: AgentFiles;
  /** Whether the CA file was given (--ca) rather than found next to the certificate: for messages. */
  caGiven: boolean;
  /** Per-request timeout. */
  timeoutMs: number;
}

/** A renewal done: the serial replaced, the files as they are now, and what the server warned about. */
export interface Renewed {
  previous: string;
  current: Credentials;
  written: string[];
  warnings: string[];
}

/**
 * Renews the certificate `current` (as just read from `target.files`) and replaces the files.
 * @throws the server's refusal as its error kind (UnauthorizedError for a revoked or unknown
 *   certificate, PolicyError, …); BackendUnavailableError when the server cannot be reached or
 *   answers 5xx; ConfigError when its TLS certificate does not verify against the CA file;
 *   InternalError when the answer is not the certificate asked for (nothing is written then);
 *   the file errors of {@link replaceCredentials}.
 */
export async function renewCredentials(target: RenewalTarget, current: Credentials): Promise<Renewed> {
  const names = certificateNames(current.leafPem, `--cert ${target.files.cert}`);
  const key = await generateEncodedKey(keyTypeOf(current.leaf.publicKey, `--cert ${target.files.cert}`));
  const csr = toPem(buildCsrDer({ ...names, spkiDer: key.spkiDer }, createDerSigner(key.privateKey())), 'CERTIFICATE REQUEST');
  const client = new ServerClient({
    url: target.server,
    caPem: current.caPem,
    clientCertificate: { certPem: current.certPem, keyPem: current.keyPem },
    timeoutMs: target.timeoutMs,
    trustHint: `give the CA certificate the server's TLS certificate was issued by with --ca (now ${target.files.ca})`,
  });
  const answer = await client.call<IssuedAnswer>('POST', '/v1/renew', { csr });
  checkAnswer(answer, names, key);
  const intermediates = answer.chain.slice(0, -1);
  const written = replaceCredentials(target.files, current, {
    certPem: current.withChain ? [answer.certificate, ...intermediates].join('') : answer.certificate,
    keyPem: key.pkcs8Pem,
    caPem: reissuedCa(current.caPem, answer.chain[answer.chain.length - 1]),
  });
  return { previous: current.serial, current: readCredentials(target.files, target.caGiven), written, warnings: answer.warnings };
}

/**
 * The server is trusted (its TLS certificate verified against the CA file) but what it returns is
 * still checked before it replaces working files: the new key, the same names, signed by the CA
 * the answer names.
 * @throws InternalError naming what differs; nothing has been written.
 */
function checkAnswer(answer: IssuedAnswer, names: CertificateNames, key: EncodedKey): void {
  const fail = (what: string, cause?: unknown) =>
    new InternalError(`the server answered the renewal with ${what}; the files were left as they were`, cause ? { cause } : undefined);
  let leaf: X509Certificate;
  let issuer: X509Certificate;
  try {
    leaf = new X509Certificate(answer.certificate);
    issuer = new X509Certificate(answer.chain[0]);
  } catch (err) {
    throw fail('something that is not a certificate and its CA', err);
  }
  if (!leaf.publicKey.export({ type: 'spki', format: 'der' }).equals(key.spkiDer)) throw fail(`certificate ${answer.serial} for another key`);
  if (!leaf.checkIssued(issuer) || !leaf.verify(issuer.publicKey)) throw fail(`certificate ${answer.serial}, which its CA certificate did not sign`);
  const got = canonicalNames(certificateNames(answer.certificate, 'the renewed certificate'));
  if (got !== canonicalNames(names)) throw fail(`certificate ${answer.serial} for other names (${got}, not ${canonicalNames(names)})`);
}

/** The names as one comparable text: every list sorted. */
function canonicalNames(names: CertificateNames): string {
  const sorted = (values: string[] | undefined) => [...(values ?? [])].sort();
  const subject = Object.entries(names.subject)
    .map(([type, values]) => [type, sorted(values)] as const)
    .sort(([a], [b]) => a.localeCompare(b));
  return JSON.stringify([names.commonName, subject, sorted(names.dnsNames), sorted(names.ipAddresses), sorted(names.uris), sorted(names.emails)]);
}

/**
 * The CA file's new text when the CA certificate was re-issued (same subject and key, new bytes —
 * a CA renewed in place): that certificate is swapped for the new one. Otherwise undefined, and the
 * file is left alone: the agent never adds trust in a CA the operator did not put there.
 */
export function reissuedCa(caPem: string, rootPem: string | undefined): string | undefined {
  if (!rootPem) return undefined;
  const root = new X509Certificate(rootPem);
  const trusted = pemBlocks(caPem, 'CERTIFICATE');
  if (trusted.some((der) => der.equals(root.raw))) return undefined;
  const spki = root.publicKey.export({ type: 'spki', format: 'der' });
  let swapped = false;
  const next = trusted.map((der) => {
    const cert = new X509Certificate(der);
    if (cert.subject !== root.subject || !cert.publicKey.export({ type: 'spki', format: 'der' }).equals(spki)) return toPem(der, 'CERTIFICATE');
    swapped = true;
    return toPem(root.raw, 'CERTIFICATE');
  });
  return swapped ? next.join('') : undefined;
}
