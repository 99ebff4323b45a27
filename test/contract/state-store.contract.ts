import { randomBytes } from 'node:crypto';
import { keepsState, type CertStore, type StateStore } from '../../src/core/cert-store';
import { ConflictError, InvalidInputError, NotFoundError } from '../../src/core/errors';

/**
 * The StateStore capability's part of the CertStore contract (cert-store.contract.ts runs it for
 * every store): create-once, compare-and-set, claims exactly one caller wins, expiry, pruning.
 * A store without the capability skips these (its declaration is checked by the contract).
 */
export function stateStoreTests(store: () => CertStore): void {
  const state = (): StateStore | undefined => {
    const s = store();
    return keepsState(s) ? s : undefined;
  };
  const id = () => randomBytes(16).toString('hex');
  const later = () => new Date(Date.now() + 3600_000);

  it('creates a state record once, reads it back, keeps namespaces apart (capability state)', async () => {
    const s = state();
    if (!s) return;
    const key = id();
    const value = { ca: 'alpha', names: ['a.example', 'Jürgen'], nested: { n: 1, list: [true, null] } };
    const created = await s.createState('tokens', key, value, { expiresAt: later() });
    expect(created).toMatchObject({ value, version: 1 });
    const got = await s.getState<typeof value>('tokens', key);
    expect(got?.value).toEqual(value);
    expect(got?.version).toBe(1);
    expect(Date.parse(got!.expiresAt!)).toBeGreaterThan(Date.now());
    expect(got?.claimedAt).toBeUndefined();
    await expect(s.createState('tokens', key, { other: true })).rejects.toBeInstanceOf(ConflictError);
    expect((await s.getState<typeof value>('tokens', key))?.value).toEqual(value);
    expect(await s.getState('nonces', key)).toBeUndefined();
    expect(await s.getState('tokens', id())).toBeUndefined();
    // The state is no CA.
    expect(await store().listCas()).toEqual([]);
  });

  it('of concurrent creators of one id exactly one succeeds (capability state)', async () => {
    const s = state();
    if (!s) return;
    const key = id();
    const results = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => s.createState('orders', key, { i })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(ConflictError);
  });

  it('updates only the version it read (compare-and-set), keeping or replacing the expiry (capability state)', async () => {
    const s = state();
    if (!s) return;
    const key = id();
    const expiry = later();
    await s.createState('orders', key, { status: 'pending' }, { expiresAt: expiry });
    const updated = await s.updateState('orders', key, { status: 'ready' }, 1);
    expect(updated.version).toBeGreaterThan(1);
    await expect(s.updateState('orders', key, { status: 'stale' }, 1)).rejects.toBeInstanceOf(ConflictError);
    const got = await s.getState<{ status: string }>('orders', key);
    expect(got?.value).toEqual({ status: 'ready' });
    expect(got?.version).toBe(updated.version);
    expect(Date.parse(got!.expiresAt!)).toBe(expiry.getTime());
    const moved = new Date(expiry.getTime() + 60_000);
    await s.updateState('orders', key, { status: 'valid' }, updated.version, { expiresAt: moved });
    expect(Date.parse((await s.getState('orders', key))!.expiresAt!)).toBe(moved.getTime());
    await expect(s.updateState('orders', id(), {}, 1)).rejects.toBeInstanceOf(NotFoundError);

    // Of concurrent updates from one version exactly one lands.
    const current = (await s.getState('orders', key))!.version;
    const results = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => s.updateState('orders', key, { i }, current)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(ConflictError);
  });

  it('claims a record once: one winner among concurrent claimers, then "used"; expired and absent are told apart (capability state)', async () => {
    const s = state();
    if (!s) return;
    const key = id();
    await s.createState('tokens', key, { profile: 'server' }, { expiresAt: later() });
    const outcomes = await Promise.all(Array.from({ length: 8 }, () => s.claimState<{ profile: string }>('tokens', key)));
    const winners = outcomes.filter((o) => o.claimed);
    expect(winners).toHaveLength(1);
    expect(winners[0]).toMatchObject({ claimed: true, record: { value: { profile: 'server' } } });
    for (const o of outcomes.filter((x) => !x.claimed)) expect(o).toMatchObject({ claimed: false, reason: 'used' });
    expect(await s.claimState('tokens', key)).toMatchObject({ claimed: false, reason: 'used' });
    const after = await s.getState('tokens', key);
    expect(after?.claimedAt).toBeDefined();
    // A claim is a write: an update from the version read before it is refused.
    await expect(s.updateState('tokens', key, {}, 1)).rejects.toBeInstanceOf(ConflictError);

    const old = id();
    await s.createState('tokens', old, {}, { expiresAt: new Date(Date.now() - 1000) });
    expect(await s.claimState('tokens', old)).toMatchObject({ claimed: false, reason: 'expired' });
    expect((await s.getState('tokens', old))?.claimedAt).toBeUndefined();
    expect(await s.claimState('tokens', id())).toEqual({ claimed: false, reason: 'absent' });
  });

  it('deletes a record (then its id can be created again) and prunes only expired ones (capability state)', async () => {
    const s = state();
    if (!s) return;
    const gone = id();
    await s.createState('nonces', gone, 1);
    await s.deleteState('nonces', gone);
    expect(await s.getState('nonces', gone)).toBeUndefined();
    await s.deleteState('nonces', gone); // absent is no error
    await s.createState('nonces', gone, 2);
    expect((await s.getState('nonces', gone))?.value).toBe(2);

    const expired = [id(), id()];
    for (const e of expired) await s.createState('nonces', e, 0, { expiresAt: new Date(Date.now() - 1000) });
    const fresh = id();
    await s.createState('nonces', fresh, 0, { expiresAt: later() });
    const other = id();
    await s.createState('tokens', other, 0, { expiresAt: new Date(Date.now() - 1000) });
    expect(await s.pruneState('nonces', new Date())).toBe(2);
    for (const e of expired) expect(await s.getState('nonces', e)).toBeUndefined();
    expect(await s.getState('nonces', fresh)).toBeDefined();
    expect(await s.getState('nonces', gone)).toBeDefined(); // no expiry: kept
    expect(await s.getState('tokens', other)).toBeDefined(); // another namespace
    expect(await s.pruneState('empty-namespace', new Date())).toBe(0);
  });

  it('refuses namespaces and ids that could leave their place (capability state)', async () => {
    const s = state();
    if (!s) return;
    for (const [ns, key] of [
      ['../x', id()],
      ['tokens', '../../ca'],
      ['tokens', '.hidden'],
      ['tokens', 'a/b'],
      ['', id()],
    ]) {
      await expect(s.createState(ns, key, {})).rejects.toBeInstanceOf(InvalidInputError);
      await expect(s.getState(ns, key)).rejects.toBeInstanceOf(InvalidInputError);
    }
  });
}
