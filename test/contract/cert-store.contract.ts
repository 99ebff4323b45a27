import { createHash } from 'node:crypto';
import {
  canDeleteCa,
  canRaiseCrlNumber,
  canRemoveCaKey,
  storeCapabilities,
  tracksRevocations,
  type CertStore,
  type StoreCapability,
} from '../../src/core/cert-store';
import { ConflictError, NotFoundError } from '../../src/core/errors';
import { newSerial, serialToHex } from '../../src/core/serial';
import type { CaRecord, CertificateRecord, IssuedCertificate } from '../../src/core/types';
import { stateStoreTests } from './state-store.contract';

/** A store under test and how to throw it away. */
export interface StoreFixture {
  store: CertStore;
  /** The capabilities its backend descriptor declares: the store must have exactly these. */
  declared?: readonly StoreCapability[];
  cleanup(): Promise<void>;
}

const CA_PEM = '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n';

export function caRecord(name: string): CaRecord {
  return { name, certPem: CA_PEM, chainPem: [], keyType: 'ec-p256', keyEncrypted: false, createdAt: new Date().toISOString() };
}

export function issued(overrides: Partial<CertificateRecord> = {}, withKey = true): IssuedCertificate {
  const serial = serialToHex(newSerial());
  const certPem = `-----BEGIN CERTIFICATE-----\n${Buffer.from(serial).toString('base64')}\n-----END CERTIFICATE-----\n`;
  return {
    record: {
      serial,
      profile: 'server',
      commonName: `host-${serial.slice(0, 6).toLowerCase()}.example.com`,
      dnsNames: [`host-${serial.slice(0, 6).toLowerCase()}.example.com`],
      ipAddresses: ['10.0.0.1'],
      keyType: 'ec-p256',
      notBefore: new Date(Date.now() - 60000).toISOString(),
      notAfter: new Date(Date.now() + 90 * 86400000).toISOString(),
      issuedAt: new Date().toISOString(),
      hasKey: withKey,
      sha256: createHash('sha256').update(certPem).digest('hex'),
      status: 'valid',
      ...overrides,
    },
    certPem,
    keyPem: withKey ? `-----BEGIN PRIVATE KEY-----\n${serial}\n-----END PRIVATE KEY-----\n` : undefined,
  };
}

/**
 * The CertStore contract: every backend's store must pass this suite unchanged.
 * `make` returns a fresh, empty store.
 */
export function describeCertStoreContract(name: string, make: () => Promise<StoreFixture>): void {
  describe(`CertStore contract: ${name}`, () => {
    let fx: StoreFixture;
    beforeEach(async () => {
      fx = await make();
    });
    afterEach(async () => {
      await fx.cleanup();
    });

    it('has exactly the capabilities its backend declares', () => {
      if (fx.declared) expect([...storeCapabilities(fx.store)].sort()).toEqual([...fx.declared].sort());
    });

    it('has no CA until one is created, then returns it and its key as stored', async () => {
      expect(await fx.store.getCa('alpha')).toBeUndefined();
      await fx.store.createCa(caRecord('alpha'), 'KEY-PEM');
      const ca = await fx.store.getCa('alpha');
      expect(ca?.certPem).toBe(CA_PEM);
      expect(ca?.keyType).toBe('ec-p256');
      expect(await fx.store.getCaKey('alpha')).toBe('KEY-PEM');
      expect(await fx.store.listCas()).toContain('alpha');
    });

    it('refuses to create a CA twice', async () => {
      await fx.store.createCa(caRecord('alpha'), 'KEY-PEM');
      await expect(fx.store.createCa(caRecord('alpha'), 'OTHER')).rejects.toBeInstanceOf(ConflictError);
      expect(await fx.store.getCaKey('alpha')).toBe('KEY-PEM');
    });

    it('keeps chains of intermediates in order', async () => {
      const rec = { ...caRecord('inter'), chainPem: [CA_PEM.replace('fake', 'one'), CA_PEM.replace('fake', 'two')], parent: 'alpha' };
      await fx.store.createCa(rec, 'K');
      const got = await fx.store.getCa('inter');
      expect(got?.chainPem).toEqual(rec.chainPem);
      expect(got?.parent).toBe('alpha');
    });

    it('stores issued certificates with their keys and finds them by serial', async () => {
      await fx.store.createCa(caRecord('alpha'), 'K');
      const a = issued();
      const b = issued({ profile: 'client', dnsNames: [], ipAddresses: [] }, false);
      await fx.store.putIssued('alpha', [a, b]);
      const got = await fx.store.get('alpha', a.record.serial);
      expect(got?.record).toEqual(a.record);
      expect(got?.certPem).toBe(a.certPem);
      expect(await fx.store.getKey('alpha', a.record.serial)).toBe(a.keyPem);
      expect(await fx.store.getKey('alpha', b.record.serial)).toBeUndefined();
      expect(await fx.store.get('alpha', serialToHex(newSerial()))).toBeUndefined();
      expect((await fx.store.list('alpha')).map((r) => r.serial)).toEqual([a.record.serial, b.record.serial]);
    });

    it('never stores a serial twice and stores nothing of a batch that repeats one', async () => {
      await fx.store.createCa(caRecord('alpha'), 'K');
      const a = issued();
      await fx.store.putIssued('alpha', [a]);
      const fresh = issued();
      await expect(fx.store.putIssued('alpha', [fresh, { ...issued(), record: { ...issued().record, serial: a.record.serial } }])).rejects.toBeInstanceOf(
        ConflictError,
      );
      expect(await fx.store.get('alpha', fresh.record.serial)).toBeUndefined();
      expect(await fx.store.list('alpha')).toHaveLength(1);
    });

    it('revokes once, lists revoked and expiring certificates', async () => {
      await fx.store.createCa(caRecord('alpha'), 'K');
      const soon = issued({ notAfter: new Date(Date.now() + 5 * 86400000).toISOString() });
      const later = issued();
      await fx.store.putIssued('alpha', [soon, later]);
      const at = new Date('2026-01-02T03:04:05.000Z');
      const [revoked] = await fx.store.markRevoked('alpha', [later.record.serial], 'keyCompromise', at);
      expect(revoked).toMatchObject({ status: 'revoked', revocationReason: 'keyCompromise', revokedAt: at.toISOString() });
      await expect(fx.store.markRevoked('alpha', [later.record.serial], 'superseded', new Date())).rejects.toBeInstanceOf(ConflictError);
      await expect(fx.store.markRevoked('alpha', [serialToHex(newSerial())], 'superseded', new Date())).rejects.toBeInstanceOf(NotFoundError);
      // All or none: a batch with one bad serial revokes nothing.
      await expect(fx.store.markRevoked('alpha', [soon.record.serial, serialToHex(newSerial())], 'superseded', new Date())).rejects.toBeInstanceOf(
        NotFoundError,
      );
      await expect(fx.store.markRevoked('alpha', [soon.record.serial, soon.record.serial], 'superseded', new Date())).rejects.toBeInstanceOf(ConflictError);
      expect((await fx.store.get('alpha', soon.record.serial))?.record.status).toBe('valid');
      expect((await fx.store.list('alpha', { revokedOnly: true })).map((r) => r.serial)).toEqual([later.record.serial]);
      expect((await fx.store.get('alpha', later.record.serial))?.record.status).toBe('revoked');
      const expiring = await fx.store.list('alpha', { expiringBefore: new Date(Date.now() + 30 * 86400000) });
      expect(expiring.map((r) => r.serial)).toEqual([soon.record.serial]);
    });

    it('hands out strictly increasing CRL numbers', async () => {
      await fx.store.createCa(caRecord('alpha'), 'K');
      const a = await fx.store.nextCrlNumber('alpha');
      const b = await fx.store.nextCrlNumber('alpha');
      expect(b).toBeGreaterThan(a);
    });

    it('raises the CRL counter, never lowers it (capability raiseCrlNumber)', async () => {
      const store = fx.store;
      if (!canRaiseCrlNumber(store)) return;
      await store.createCa(caRecord('alpha'), 'K');
      const start = await store.raiseCrlNumber('alpha', 0n);
      expect(await store.raiseCrlNumber('alpha', start + 10n)).toBe(start + 10n);
      expect(await store.raiseCrlNumber('alpha', 3n)).toBe(start + 10n);
      expect(await store.nextCrlNumber('alpha')).toBeGreaterThan(start + 10n);
      await expect(store.raiseCrlNumber('nope', 1n)).rejects.toBeInstanceOf(NotFoundError);
    });

    it('moves the revocation version on every revocation and only then (capability revocationVersion)', async () => {
      const store = fx.store;
      if (!tracksRevocations(store)) return;
      await store.createCa(caRecord('alpha'), 'K1');
      await store.createCa(caRecord('beta'), 'K2');
      const start = await store.revocationVersion('alpha');
      const [a, b] = [issued(), issued()];
      await store.putIssued('alpha', [a, b]);
      expect(await store.revocationVersion('alpha')).toBe(start);
      const betaBefore = await store.revocationVersion('beta');
      await store.markRevoked('alpha', [a.record.serial], 'keyCompromise', new Date());
      const once = await store.revocationVersion('alpha');
      expect(once).not.toBe(start);
      // A refused revocation changes nothing.
      await expect(store.markRevoked('alpha', [a.record.serial], 'superseded', new Date())).rejects.toBeInstanceOf(ConflictError);
      expect(await store.revocationVersion('alpha')).toBe(once);
      await store.markRevoked('alpha', [b.record.serial], 'superseded', new Date());
      const twice = await store.revocationVersion('alpha');
      expect([start, once]).not.toContain(twice);
      expect(await store.revocationVersion('beta')).toBe(betaBefore);
      await expect(store.revocationVersion('nope')).rejects.toBeInstanceOf(NotFoundError);
    });

    it('deletes a CA with everything of it and nothing of another (capability deleteCa)', async () => {
      const store = fx.store;
      if (!canDeleteCa(store)) return;
      await store.createCa(caRecord('alpha'), 'K1');
      await store.createCa(caRecord('beta'), 'K2');
      const a = issued();
      const b = issued();
      await store.putIssued('alpha', [a]);
      await store.putIssued('beta', [b]);
      await store.deleteCa('alpha');
      expect(await store.getCa('alpha')).toBeUndefined();
      await expect(store.getCaKey('alpha')).rejects.toBeInstanceOf(NotFoundError);
      expect(await store.listCas()).not.toContain('alpha');
      await expect(store.deleteCa('alpha')).rejects.toBeInstanceOf(NotFoundError);
      // A CA made again under the same name starts empty: nothing of the deleted one shows through.
      await store.createCa(caRecord('alpha'), 'K3');
      expect(await store.list('alpha')).toEqual([]);
      expect(await store.get('alpha', a.record.serial)).toBeUndefined();
      expect((await store.get('beta', b.record.serial))?.certPem).toBe(b.certPem);
    });

    it('removes the CA key alone, keeping the CA and its certificates (capability removeCaKey)', async () => {
      const store = fx.store;
      if (!canRemoveCaKey(store)) return;
      await store.createCa(caRecord('alpha'), 'K1');
      await store.createCa(caRecord('beta'), 'K2');
      const a = issued();
      await store.putIssued('alpha', [a]);
      await store.removeCaKey('alpha');
      await expect(store.getCaKey('alpha')).rejects.toBeInstanceOf(NotFoundError);
      expect((await store.getCa('alpha'))?.certPem).toBe(CA_PEM);
      expect((await store.get('alpha', a.record.serial))?.certPem).toBe(a.certPem);
      expect(await store.getCaKey('beta')).toBe('K2');
      await store.removeCaKey('alpha'); // a second call is no error
      await expect(store.removeCaKey('nope')).rejects.toBeInstanceOf(NotFoundError);
    });

    stateStoreTests(() => fx.store);

    it('keeps CAs apart', async () => {
      await fx.store.createCa(caRecord('alpha'), 'K1');
      await fx.store.createCa(caRecord('beta'), 'K2');
      const a = issued();
      await fx.store.putIssued('alpha', [a]);
      expect(await fx.store.get('beta', a.record.serial)).toBeUndefined();
      expect(await fx.store.list('beta')).toEqual([]);
    });

    it('round-trips non-ASCII subjects', async () => {
      await fx.store.createCa(caRecord('alpha'), 'K');
      const a = issued({ commonName: 'Jürgen Müller – ops', profile: 'client', dnsNames: [], ipAddresses: [] });
      await fx.store.putIssued('alpha', [a]);
      expect((await fx.store.get('alpha', a.record.serial))?.record.commonName).toBe('Jürgen Müller – ops');
      expect((await fx.store.list('alpha'))[0].commonName).toBe('Jürgen Müller – ops');
    });
  });
}
