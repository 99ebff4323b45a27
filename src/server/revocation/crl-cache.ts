import { createHash } from 'node:crypto';
import { InternalError } from '../../core/errors';
import { readTlv, children, type Tlv } from '../../core/x509/der-reader';
import { pemBlocks } from '../../core/x509/pem';
import type { CaServices } from '../ca-services';
import type { RevocationWatch } from './revocation-watch';

/** A CA's signed CRL as served: DER and PEM, its validity, and an entity tag for HTTP revalidation. */
export interface ServedCrl {
  der: Buffer;
  pem: string;
  thisUpdate: Date;
  nextUpdate?: Date;
  /** Quoted SHA-256 prefix of the DER. */
  etag: string;
}

interface Entry {
  crl: ServedCrl;
  /** What the CA's revocations were when it was signed ({@link CrlCache.token}). */
  token: string;
  /** When to sign again even if nothing was revoked: half-way to nextUpdate. */
  refreshAt: number;
  /** Order in which signings started: an older one finishing late never replaces a newer one. */
  seq: number;
}

/** A CRL without nextUpdate, or whose nextUpdate has passed (a remote CA's own CRL), is fetched again at most this often. */
const MIN_REFRESH_MS = 60_000;

/**
 * The CRL of each CA, signed by the core (IssuanceService.crl: the CA key through the Signer, a
 * CRL number from the store; Vault's own CRL for Vault PKI) and kept until a revocation — made
 * here (`drop`, from ctx.onRevoked) or through any other process over the store, seen by
 * {@link RevocationWatch} on every request — or until half of its validity has passed.
 * Concurrent requests after a change share one signing.
 */
export class CrlCache {
  private readonly entries = new Map<string, Entry>();
  private readonly signing = new Map<string, Promise<Entry>>();
  private seq = 0;

  constructor(
    private readonly services: CaServices,
    private readonly watch: RevocationWatch,
  ) {}

  /**
   * The current CRL of `ca`, signed again when revocations changed since or it is due.
   * @throws NotFoundError for an unknown CA; what the signer and the store throw.
   */
  async get(ca: string): Promise<ServedCrl> {
    const token = await this.token(ca);
    const entry = this.entries.get(ca);
    if (entry && entry.token === token && Date.now() < entry.refreshAt) return entry.crl;
    return (await this.sign(ca, token)).crl;
  }

  /** Forgets a CA's CRL (a revocation through this server). */
  drop(ca: string): void {
    this.entries.delete(ca);
  }

  /**
   * What the CA's revocations are now: the store's revocation version, or — for a store without
   * that capability — a digest of its revoked records (a read of the inventory per request).
   */
  private async token(ca: string): Promise<string> {
    const version = await this.watch.version(ca);
    if (version !== undefined) return `v:${version}`;
    const revoked = await this.services.service(ca).list({ revokedOnly: true });
    const hash = createHash('sha256');
    for (const r of revoked) hash.update(`${r.serial} ${r.revokedAt ?? ''} ${r.revocationReason ?? ''}\n`);
    return `d:${hash.digest('hex')}`;
  }

  /** Signs a CRL for `token` (read before the revoked list, so the CRL holds at least those revocations), once for all requests waiting on it. */
  private sign(ca: string, token: string): Promise<Entry> {
    const key = `${ca}\n${token}`;
    let pending = this.signing.get(key);
    if (!pending) {
      const seq = ++this.seq;
      pending = this.services
        .service(ca)
        .crl()
        .then((pem) => {
          const entry = { crl: servedCrl(pem), token, seq, refreshAt: 0 };
          entry.refreshAt = refreshTime(entry.crl);
          const current = this.entries.get(ca);
          if (!current || current.seq < seq) this.entries.set(ca, entry);
          return entry;
        })
        .finally(() => this.signing.delete(key));
      this.signing.set(key, pending);
    }
    return pending;
  }
}

function refreshTime(crl: ServedCrl): number {
  const now = Date.now();
  if (!crl.nextUpdate) return now + MIN_REFRESH_MS;
  const half = crl.thisUpdate.getTime() + (crl.nextUpdate.getTime() - crl.thisUpdate.getTime()) / 2;
  return Math.max(half, now + MIN_REFRESH_MS);
}

/**
 * The DER, dates and entity tag of a PEM CRL. The dates are read by hand with the core's DER
 * reader (TBSCertList: version?, signature, issuer, thisUpdate, nextUpdate?): parsing the whole
 * list of a large CRL with a schema codec would cost more than signing it.
 * @throws InternalError when the signer's CRL is not one.
 */
export function servedCrl(pem: string): ServedCrl {
  const der = pemBlocks(pem, 'X509 CRL')[0];
  try {
    const tbs = readTlv(der, readTlv(der, 0).contentStart);
    const fields = children(der, tbs);
    const first = fields[0]?.tag === 0x02 ? 1 : 0;
    const thisUpdate = readTime(der, fields[first + 2]);
    const next = fields[first + 3];
    const nextUpdate = next && (next.tag === 0x17 || next.tag === 0x18) ? readTime(der, next) : undefined;
    const etag = `"${createHash('sha256').update(der).digest('base64url').slice(0, 27)}"`;
    return { der, pem, thisUpdate, nextUpdate, etag };
  } catch (err) {
    throw new InternalError('the signer returned a CRL that cannot be read', { cause: err });
  }
}

/** UTCTime (YYMMDDHHMMSSZ, years 1950–2049) or GeneralizedTime (YYYYMMDDHHMMSSZ), as RFC 5280 writes them. */
function readTime(der: Buffer, t: Tlv | undefined): Date {
  if (!t || (t.tag !== 0x17 && t.tag !== 0x18)) throw new InternalError('a CRL date is missing');
  let text = der.toString('latin1', t.contentStart, t.end);
  if (t.tag === 0x17) text = `${Number(text.slice(0, 2)) < 50 ? '20' : '19'}${text}`;
  const m = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(text);
  if (!m) throw new InternalError(`a CRL date "${text}" is not in RFC 5280 form`);
  return new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
}
