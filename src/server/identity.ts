import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { FastifyRequest } from 'fastify';
import { UnauthorizedError } from '../core/errors';
import { parseSerial } from '../core/serial';
import { pemBlocks } from '../core/x509/pem';
import type { CertificateRecord } from '../core/types';
import type { CaServices } from './ca-services';

/** A caller proven by an mTLS client certificate this server's CA issued and has not revoked. */
export interface CertIdentity {
  kind: 'certificate';
  ca: string;
  serial: string;
  record: CertificateRecord;
  certDer: Buffer;
  /** Whether the certificate is for TLS clients (clientAuth EKU): only those hold roles. */
  clientAuth: boolean;
  /** Subject attributes, for the role mapping of serve.clients. */
  cn: string;
  ou: string[];
  o: string[];
}

interface LoadedCa {
  name: string;
  cert: X509Certificate;
}

/**
 * Proves mTLS callers. The TLS layer asks for a client certificate but does not verify it
 * (`rejectUnauthorized: false`): OpenSSL would refuse a server-only certificate for client
 * purposes, and `/v1/renew` must accept any certificate the CA issued whatever its EKU. So the
 * check is made here, per request: signed by one of the CAs, inside its validity, the very
 * certificate the inventory holds under that serial (so a certificate signed by the key but never
 * recorded is refused), and not revoked — read from the store each time, so a revocation through
 * another server instance is seen at once.
 */
export class ClientCertificates {
  private cas: Promise<LoadedCa[]> | undefined;

  constructor(private readonly services: CaServices) {}

  /** Forget the CA list (SIGHUP, or a CA created since start). */
  reset(): void {
    this.cas = undefined;
  }

  /** The client certificate of the request's connection, DER, if it sent one. */
  static presented(request: FastifyRequest): Buffer | undefined {
    const socket = request.raw.socket as TLSSocket;
    if (typeof socket.getPeerCertificate !== 'function') return undefined;
    const peer = socket.getPeerCertificate(false);
    return peer && peer.raw && peer.raw.length > 0 ? peer.raw : undefined;
  }

  /**
   * The caller's identity, or undefined when it sent no client certificate.
   * @throws UnauthorizedError for a certificate from another CA, expired, unknown to the inventory or revoked.
   */
  async identify(request: FastifyRequest): Promise<CertIdentity | undefined> {
    const der = ClientCertificates.presented(request);
    if (!der) return undefined;
    return this.verify(der);
  }

  /**
   * Checks a client certificate (DER) as described on the class.
   * @throws UnauthorizedError naming what is wrong with it.
   */
  async verify(der: Buffer): Promise<CertIdentity> {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(der);
    } catch (err) {
      throw new UnauthorizedError('the client certificate cannot be parsed', { cause: err });
    }
    const ca = await this.issuerOf(cert);
    const now = Date.now();
    if (Date.parse(cert.validTo) <= now || Date.parse(cert.validFrom) > now + 120_000) {
      throw new UnauthorizedError(
        `the client certificate ${cert.serialNumber} is outside its validity (${cert.validFrom} – ${cert.validTo}); renew it before it expires, or enroll again`,
      );
    }
    const serial = parseSerial(cert.serialNumber);
    const found = await this.services.store(ca.name).get(ca.name, serial);
    if (!found || !pemBlocks(found.certPem, 'CERTIFICATE')[0]?.equals(der)) {
      throw new UnauthorizedError(`the client certificate ${serial} is not in CA "${ca.name}"'s inventory; only certificates this CA issued are accepted`);
    }
    if (found.record.status === 'revoked')
      throw new UnauthorizedError(`the client certificate ${serial} was revoked (${found.record.revocationReason ?? 'unspecified'})`);
    const clientAuth = (cert.keyUsage ?? []).includes('1.3.6.1.5.5.7.3.2');
    return { kind: 'certificate', ca: ca.name, serial, record: found.record, certDer: der, clientAuth, ...subjectOf(cert) };
  }

  private async issuerOf(cert: X509Certificate): Promise<LoadedCa> {
    let cas = await this.loadCas();
    let ca = cas.find((c) => cert.checkIssued(c.cert) && cert.verify(c.cert.publicKey));
    if (!ca) {
      // A CA created after the server started: look once more before refusing.
      this.reset();
      cas = await this.loadCas();
      ca = cas.find((c) => cert.checkIssued(c.cert) && cert.verify(c.cert.publicKey));
    }
    if (!ca) throw new UnauthorizedError(`the client certificate (issuer ${cert.issuer.replace(/\n/g, ', ')}) was not issued by a CA of this server`);
    return ca;
  }

  private loadCas(): Promise<LoadedCa[]> {
    this.cas ??= this.services
      .listCas()
      .then((records) => records.map((r) => ({ name: r.name, cert: new X509Certificate(r.certPem) })))
      .catch((err: unknown) => {
        this.cas = undefined;
        throw err;
      });
    return this.cas;
  }
}

function subjectOf(cert: X509Certificate): { cn: string; ou: string[]; o: string[] } {
  const values = (type: string) =>
    cert.subject
      .split('\n')
      .filter((line) => line.startsWith(`${type}=`))
      .map((line) => line.slice(type.length + 1));
  return { cn: values('CN')[0] ?? '', ou: values('OU'), o: values('O') };
}
