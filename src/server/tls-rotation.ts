import type { Server } from 'node:https';
import type { SecureContextOptions } from 'node:tls';
import type { FastifyBaseLogger } from 'fastify';
import type { CaServices } from './ca-services';
import type { ServeOptions } from './config';
import { loadServerCertificate, type ServerCertificate } from './server-certificate';

/** The longest delay setTimeout takes; a later renewal is re-checked after it. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Keeps the server's TLS certificate fresh without a restart: a certificate the CA issued to the
 * server is issued again two thirds into its life and swapped in with `setSecureContext`, so new
 * connections get it and open ones finish on the old; `replace()` (SIGHUP) re-reads files too.
 */
export class TlsRotation {
  private timer: NodeJS.Timeout | undefined;
  private server: Server | undefined;

  private constructor(
    private current: ServerCertificate,
    private readonly services: CaServices,
    private readonly log: () => FastifyBaseLogger,
  ) {}

  /** Gets the first certificate. @throws what {@link loadServerCertificate} throws. */
  static async start(options: ServeOptions, services: CaServices, log: () => FastifyBaseLogger): Promise<TlsRotation> {
    return new TlsRotation(await loadServerCertificate(options, services), services, log);
  }

  get certificate(): ServerCertificate {
    return this.current;
  }

  /** The TLS options of the current certificate; clients may present certificates of any of the CAs. */
  async secureContext(): Promise<SecureContextOptions> {
    const cas = await this.services.listCas();
    return { key: this.current.keyPem, cert: this.current.certPem, ca: cas.map((r) => r.certPem), minVersion: 'TLSv1.2' };
  }

  /** Starts the renewal timer for `server`. */
  attach(server: Server, options: () => ServeOptions): void {
    this.server = server;
    this.schedule(options);
  }

  /** Gets a new certificate now (SIGHUP, or its renewal time); on failure keeps the old and retries in a minute. */
  async replace(options: () => ServeOptions): Promise<void> {
    try {
      this.current = await loadServerCertificate(options(), this.services);
      this.server?.setSecureContext(await this.secureContext());
      this.log().info({ tls: this.current.source, serial: this.current.serial, renewAt: this.current.renewAt }, 'server certificate replaced');
    } catch (err) {
      this.log().error({ error: (err as Error).message }, 'could not replace the server certificate; retrying in a minute');
      this.current = { ...this.current, renewAt: new Date(Date.now() + 60_000) };
    }
    this.schedule(options);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
  }

  private schedule(options: () => ServeOptions): void {
    this.stop();
    if (!this.current.renewAt) return;
    const delay = Math.max(1000, this.current.renewAt.getTime() - Date.now());
    this.timer = setTimeout(() => (delay > MAX_TIMER_MS ? this.schedule(options) : void this.replace(options)), Math.min(delay, MAX_TIMER_MS));
    this.timer.unref();
  }
}
