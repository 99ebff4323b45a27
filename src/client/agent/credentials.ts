/**
 * The files the renewal agent keeps current — certificate, key and the CA certificate(s) it trusts
 * the server with — read afresh at every wake (someone may have replaced them) and replaced
 * all-or-nothing through the project's staged writes (src/core/fs-atomic.ts).
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { chownSync, readFileSync, realpathSync, statSync, type Stats } from 'node:fs';
import { dirname, join } from 'node:path';
import { InvalidInputError, NotFoundError, withContext } from '../../core/errors';
import { stageFiles, writeFileAtomic, type FileToWrite } from '../../core/fs-atomic';
import { parseSerial } from '../../core/serial';
import { pemBlocks, toPem } from '../../core/x509/pem';

/** The paths the agent works on. */
export interface AgentFiles {
  cert: string;
  key: string;
  /** The CA certificate(s) the server's TLS certificate is checked against. */
  ca: string;
}

/**
 * The agent's paths: the CA file is `--ca`, else `ca.pem` next to the certificate — where the
 * `docker` and `pem` layouts of `issue`/`enroll` put the CA certificate.
 */
export function agentFiles(cert: string, key: string, ca?: string): AgentFiles {
  return { cert, key, ca: ca ?? join(dirname(cert), 'ca.pem') };
}

/** What the files hold now. */
export interface Credentials {
  /** The certificate file as read: the leaf, and in Docker's layout the CA certificates below the root after it. */
  certPem: string;
  keyPem: string;
  caPem: string;
  /** The leaf alone, PEM. */
  leafPem: string;
  leaf: X509Certificate;
  /** Canonical serial (uppercase hex, even length). */
  serial: string;
  notBefore: Date;
  notAfter: Date;
  /** Whether the certificate file carries the chain after the leaf; a renewal writes the same shape. */
  withChain: boolean;
}

/**
 * Reads and checks the three files: a certificate, its private key (unencrypted PEM), and a CA file
 * with at least one certificate.
 * @throws NotFoundError for a missing file; InvalidInputError for an unreadable or malformed file, or
 *   a key that is not the certificate's (the message says how that can happen).
 */
export function readCredentials(files: AgentFiles, caGiven: boolean): Credentials {
  const certPem = readText(files.cert, '--cert', 'the certificate');
  const keyPem = readText(files.key, '--key', 'the private key');
  const caPem = readText(files.ca, '--ca', caGiven ? 'the CA certificate' : 'the CA certificate (no --ca given: ca.pem next to --cert)');
  const blocks = pemBlocks(certPem, 'CERTIFICATE');
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(blocks[0]);
  } catch (err) {
    throw new InvalidInputError(`--cert: ${files.cert} does not hold a PEM certificate`, { cause: err });
  }
  if (pemBlocks(caPem, 'CERTIFICATE').length === 0) throw new InvalidInputError(`--ca: ${files.ca} does not hold a PEM certificate`);
  let matches: boolean;
  try {
    matches = leaf.checkPrivateKey(createPrivateKey(keyPem));
  } catch (err) {
    throw new InvalidInputError(`--key: ${files.key} is not an unencrypted PEM private key`, { cause: err });
  }
  if (!matches) {
    throw new InvalidInputError(
      `--key: ${files.key} is not the key of ${files.cert}; they were replaced separately (the agent renames the key into place just before the certificate) — put back a matching pair, or enroll again`,
    );
  }
  return {
    certPem,
    keyPem,
    caPem,
    leafPem: toPem(blocks[0], 'CERTIFICATE'),
    leaf,
    serial: parseSerial(leaf.serialNumber),
    notBefore: new Date(leaf.validFrom),
    notAfter: new Date(leaf.validTo),
    withChain: blocks.length > 1,
  };
}

function readText(path: string, flag: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    if (code === 'ENOENT') throw new NotFoundError(`${flag}: ${what} ${path} does not exist`, { cause: err });
    throw new InvalidInputError(`${flag}: cannot read ${what} ${path} (${code})`, { cause: err });
  }
}

/** The new contents: certificate file (leaf, or leaf and chain), key, and the CA file when it must change. */
export interface Replacement {
  certPem: string;
  keyPem: string;
  caPem?: string;
}

/**
 * Replaces the files. Every file is first written in full to a temp file beside its target and
 * fsynced (stageFiles), so a failure before the renames changes nothing; then they are renamed into
 * place in this order:
 *
 *   1. the CA file (only when the CA changed): trust in the new issuer is there before a certificate
 *      from it is;
 *   2. the key, then 3. the certificate.
 *
 * Two renames cannot be one atomic step, so a reader that opens both files during the microseconds
 * between them can see a mismatched pair. Key-then-certificate makes that pair "old certificate, new
 * key" for the readers that open the certificate first and the key second (nginx, Go's
 * tls.LoadX509KeyPair in dockerd, OpenSSL's s_server), which they refuse with a key-mismatch error
 * instead of serving; and whoever sees the new certificate is sure to find the new key behind it.
 * The hook (reload) runs only after both renames, so what it reloads is always a matching pair.
 *
 * Symbolic links are followed (the file they point to is replaced, the link kept); modes are kept
 * for the certificate and CA files and are 0600 for the key; when the agent runs as root, each file
 * keeps its previous owner, so a service that reads its key as its own user still can.
 * @returns the paths written.
 * @throws the fs error of a failed write (nothing replaced); when a rename fails after the key's,
 *   the previous key is put back, and a failure to do that is named in the error.
 */
export function replaceCredentials(files: AgentFiles, current: Credentials, next: Replacement): string[] {
  const plan: { file: FileToWrite; before: Stats }[] = [];
  const add = (path: string, data: string, mode?: number) => {
    const real = realpathSync(path);
    const before = statSync(real);
    plan.push({ file: { path: real, data, mode: mode ?? before.mode & 0o777 }, before });
    return real;
  };
  if (next.caPem !== undefined) add(files.ca, next.caPem);
  const keyPath = add(files.key, next.keyPem, 0o600);
  add(files.cert, next.certPem);
  const staged = stageFiles(plan.map((p) => p.file));
  try {
    staged.commit();
  } catch (err) {
    throw restoreKey(err, keyPath, current.keyPem, next.keyPem);
  }
  if (process.getuid?.() === 0) {
    for (const { file, before } of plan) {
      const now = statSync(file.path);
      if (now.uid !== before.uid || now.gid !== before.gid) chownSync(file.path, before.uid, before.gid);
    }
  }
  return plan.map((p) => p.file.path);
}

/** After a failed commit: if the new key already replaced the old one, put the old one back (the old certificate is still in place). */
function restoreKey(err: unknown, keyPath: string, oldKeyPem: string, newKeyPem: string): unknown {
  let onDisk: string;
  try {
    onDisk = readFileSync(keyPath, 'utf8');
  } catch {
    return err;
  }
  if (onDisk !== newKeyPem) return err;
  try {
    writeFileAtomic(keyPath, oldKeyPem, 0o600);
    return withContext(err, `${(err as Error).message}; the previous key was put back in ${keyPath}, so the old certificate and key still match`);
  } catch (restoreErr) {
    return withContext(
      err,
      `${(err as Error).message}; putting the previous key back in ${keyPath} also failed (${(restoreErr as NodeJS.ErrnoException).code ?? (restoreErr as Error).message}): the key and certificate files do not match — enroll again`,
    );
  }
}
