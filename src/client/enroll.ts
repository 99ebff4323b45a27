import { X509Certificate, createHash } from 'node:crypto';
import { readGrant, type EnrollmentGrant } from '../core/enrollment-token';
import { InternalError } from '../core/errors';
import type { IssueResult } from '../core/issuance-service';
import { generateEncodedKey } from '../core/key-encoding';
import { keyTypeOf } from '../core/keys';
import type { KeyType } from '../core/types';
import { buildCsrDer } from '../core/x509/csr-builder';
import { toPem } from '../core/x509/pem';
import { createDerSigner } from '../core/x509/signing';
import { fetchPinnedCa, ServerClient, type IssuedAnswer } from './server-client';

/** What `certctl enroll` asks for. */
export interface EnrollRequest {
  /** `https://HOST:PORT` of `certctl serve`. */
  server: string;
  /** The enrollment token (`certctl token create`). */
  token: string;
  /** SHA-256 of the CA certificate, as `openssl x509 -fingerprint -sha256` prints it (colons optional). */
  caFingerprint: string;
  keyType: KeyType;
  timeoutMs?: number;
}

/**
 * Enrolls a node with a one-time token: reads the token's grant (CA, names), fetches that CA from
 * the server and pins it by its fingerprint — before the token or anything else is sent — makes
 * the key here, sends a CSR for exactly the grant's names over TLS verified against the pinned CA,
 * and checks the answer (signed by that CA, for this key). The key never leaves the process; the
 * caller writes it with the certificate in the layout it wants.
 * @throws InvalidInputError for a malformed token or fingerprint; BackendAuthError when the CA's fingerprint differs;
 *   the error kind of the server's refusal (UnauthorizedError for a used or expired token, PolicyError…);
 *   InternalError when the server answers with a certificate that is not for this key or not from the pinned CA.
 */
export async function enroll(request: EnrollRequest): Promise<{ result: IssueResult; grant: EnrollmentGrant }> {
  const grant = readGrant(request.token);
  const pinned = await fetchPinnedCa(request.server, request.caFingerprint, { ca: grant.ca });
  const key = await generateEncodedKey(request.keyType);
  const csrDer = buildCsrDer(
    { commonName: grant.commonName, dnsNames: grant.dnsNames, ipAddresses: grant.ipAddresses, spkiDer: key.spkiDer },
    createDerSigner(key.privateKey()),
  );
  const client = new ServerClient({ url: request.server, caPem: [pinned.caPem, ...pinned.chain].join(''), timeoutMs: request.timeoutMs });
  const answer = await client.call<IssuedAnswer>(
    'POST',
    '/v1/sign',
    { csr: toPem(csrDer, 'CERTIFICATE REQUEST'), ca: grant.ca },
    { authorization: `Bearer ${request.token}` },
  );
  const cert = checkAnswer(answer, pinned.caPem, key.spkiDer);
  const now = new Date().toISOString();
  return {
    grant,
    result: {
      items: [
        {
          record: {
            serial: answer.serial,
            profile: answer.profile,
            commonName: grant.commonName,
            dnsNames: grant.dnsNames,
            ipAddresses: grant.ipAddresses,
            keyType: request.keyType,
            notBefore: answer.notBefore,
            notAfter: answer.notAfter,
            issuedAt: now,
            hasKey: true,
            sha256: createHash('sha256').update(cert.raw).digest('hex'),
            status: 'valid',
          },
          certPem: answer.certificate,
          keyPem: key.pkcs8Pem,
        },
      ],
      // What the output layouts read of a CA: its certificate and chain (createdAt is unknown to a client).
      ca: {
        name: answer.ca,
        certPem: pinned.caPem,
        chainPem: pinned.chain,
        keyType: keyTypeOf(new X509Certificate(pinned.caPem).publicKey, 'the CA certificate'),
        keyEncrypted: false,
        createdAt: now,
      },
      warnings: answer.warnings,
    },
  };
}

/**
 * The issued certificate, if it is what was asked for: signed by the pinned CA, for this key.
 * @throws InternalError naming what is wrong (the server misbehaves: nothing is written).
 */
function checkAnswer(answer: IssuedAnswer, caPem: string, spkiDer: Buffer): X509Certificate {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(answer.certificate);
  } catch (err) {
    throw new InternalError('the server answered the enrollment without a readable certificate', { cause: err });
  }
  const ca = new X509Certificate(caPem);
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey))
    throw new InternalError(`the certificate the server returned (serial ${answer.serial}) is not signed by the pinned CA`);
  if (!cert.publicKey.export({ type: 'spki', format: 'der' }).equals(spkiDer))
    throw new InternalError(`the certificate the server returned (serial ${answer.serial}) is not for the key made here`);
  return cert;
}
