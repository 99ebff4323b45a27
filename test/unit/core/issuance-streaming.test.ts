import 'reflect-metadata';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registry } from '../../../src/backends';
import type { CertStore } from '../../../src/core/cert-store';
import { CertStore as CertStoreToken } from '../../../src/core/cert-store';
import { loadConfig, ResolvedConfig } from '../../../src/core/config/load';
import { createContainer } from '../../../src/core/container';
import { BackendUnavailableError } from '../../../src/core/errors';
import { IssuanceService } from '../../../src/core/issuance-service';
import { Signer, type LeafSpec } from '../../../src/core/signer';

/**
 * A signer that asks for one certificate per call with `inFlight` calls at once, as the Vault
 * signer does. It delegates the signing to the real local signer, counts the calls and how
 * many overlap, and can fail a chosen call — a fault-injecting wrapper, named as such.
 */
class FaultInjectingStreamingSigner implements Signer {
  readonly kind = 'fault-injecting-streaming';
  calls = 0;
  specsPerCall: number[] = [];
  running = 0;
  maxRunning = 0;
  constructor(
    private readonly inner: Signer,
    readonly inFlight: number,
    private readonly failCall?: number,
  ) {}
  createCa(...args: Parameters<Signer['createCa']>) {
    return this.inner.createCa(...args);
  }
  crl(...args: Parameters<Signer['crl']>) {
    return this.inner.crl(...args);
  }
  async sign(ca: string, specs: LeafSpec[]): Promise<Buffer[]> {
    const call = ++this.calls;
    this.specsPerCall.push(specs.length);
    this.maxRunning = Math.max(this.maxRunning, ++this.running);
    try {
      // A network round trip: lets the other calls in flight start meanwhile.
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (call === this.failCall) throw new BackendUnavailableError('injected: the signer went away');
      return await this.inner.sign(ca, specs);
    } finally {
      this.running--;
    }
  }
}

describe('issuance with a signer that wants one certificate per request (Signer.inFlight)', () => {
  let dir: string;
  let store: CertStore;
  let local: Signer;
  let config: ResolvedConfig;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'certctl-streaming-'));
    config = loadConfig({}, { XDG_CONFIG_HOME: join(dir, 'xdg'), CERTCTL_FILE_DIR: dir }, dir);
    const container = createContainer(config, { get: () => undefined }, registry);
    await container.get(IssuanceService).init({ commonName: 'Streaming Test CA' });
    store = container.get<CertStore>(CertStoreToken);
    local = container.get<Signer>(Signer);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('hands over one certificate per call, with exactly inFlight calls overlapping, and keeps the order', async () => {
    const signer = new FaultInjectingStreamingSigner(local, 3);
    const service = new IssuanceService(signer, store, config);
    const progress: number[] = [];
    const result = await service.issue({ profile: 'node', count: 10, onProgress: (done) => progress.push(done) });

    expect(signer.calls).toBe(10);
    expect(signer.specsPerCall).toEqual(Array(10).fill(1));
    expect(signer.maxRunning).toBe(3);
    expect(progress).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    // Every certificate is its own key's and names its own UUID; the store has all ten, in order.
    const ca = new X509Certificate((await store.getCa('default'))!.certPem);
    const subjects = new Set<string>();
    for (const item of result.items) {
      const cert = new X509Certificate(item.certPem);
      expect(cert.verify(ca.publicKey)).toBe(true);
      expect(cert.checkPrivateKey(createPrivateKey(item.keyPem!))).toBe(true);
      subjects.add(cert.subject);
    }
    expect(subjects.size).toBe(10);
    const listed = await store.list('default');
    expect(listed.map((r) => r.serial)).toEqual(result.items.map((i) => i.record.serial));
  });

  it('stores nothing and starts no new request after a signing call fails', async () => {
    const signer = new FaultInjectingStreamingSigner(local, 3, 5);
    const service = new IssuanceService(signer, store, config);
    const err = (await service.issue({ profile: 'node', count: 20 }).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/injected: the signer went away/);
    // What the remote CA signed before and beside the failing call exists there, unrecorded: named for revocation.
    const named = /had already signed (\d+) other certificates of this request, which exist there unrecorded — revoke them at that CA: ([0-9A-F, ]+)$/.exec(
      err.message,
    );
    expect(named).not.toBeNull();
    expect(named![2].split(', ')).toHaveLength(Number(named![1]));
    expect(Number(named![1])).toBe(signer.calls - 1);
    // Call 5 failed while at most two others were in flight; none started after it.
    expect(signer.calls).toBeLessThanOrEqual(7);
    expect(await store.list('default')).toEqual([]);
  });
});
