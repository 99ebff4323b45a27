import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { groupCommitting } from '../../../src/server/group-commit';
import { MemoryCertStore } from '../../backends/memory/memory-cert-store';
import { caRecord, issued } from '../../contract/cert-store.contract';

describe('group commit of a server store', () => {
  async function store() {
    const inner = new MemoryCertStore({ space: `group-${randomBytes(4).toString('hex')}` });
    await inner.createCa(caRecord('default'), 'KEY');
    const calls: number[] = [];
    const put = inner.putIssued.bind(inner);
    inner.putIssued = async (ca, items) => {
      calls.push(items.length);
      await new Promise((resolve) => setTimeout(resolve, 20));
      return put(ca, items);
    };
    return { inner, calls, grouped: groupCommitting(inner) };
  }

  it('writes the certificates of concurrent requests together, and each request sees its own stored', async () => {
    const { inner, calls, grouped } = await store();
    const items = Array.from({ length: 10 }, () => issued());
    await Promise.all(items.map((item) => grouped.putIssued('default', [item])));
    expect(calls).toEqual([1, 9]);
    for (const item of items) expect((await inner.get('default', item.record.serial))?.record.serial).toBe(item.record.serial);
    expect(typeof (grouped as unknown as { claimState: unknown }).claimState).toBe('function');
  });

  it('fails every request of a failed batch and stores none of it', async () => {
    const { inner, grouped } = await store();
    const first = grouped.putIssued('default', [issued()]);
    const dup = issued();
    const batch = [grouped.putIssued('default', [dup]), grouped.putIssued('default', [dup]), grouped.putIssued('default', [issued()])];
    await first;
    const results = await Promise.allSettled(batch);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(await inner.get('default', dup.record.serial)).toBeUndefined();
  });
});
