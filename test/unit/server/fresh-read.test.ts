import { FreshReads } from '../../../src/server/revocation/fresh-read';

/** A read the test finishes by hand, so the interleaving is chosen, not timed. */
function controlledReads() {
  const started: { key: string; finish: (value: number) => void; fail: (err: Error) => void }[] = [];
  const reads = new FreshReads<number>(
    (key) =>
      new Promise<number>((resolve, reject) => {
        started.push({ key, finish: resolve, fail: reject });
      }),
  );
  return { reads, started };
}

describe('FreshReads', () => {
  it('never answers a caller with a read that started before it arrived', async () => {
    const { reads, started } = controlledReads();
    const early = reads.get('ca');
    expect(started).toHaveLength(1);
    // Two callers arrive while the first read runs: they share one read queued to start after it.
    const late1 = reads.get('ca');
    const late2 = reads.get('ca');
    expect(started).toHaveLength(1);
    started[0].finish(1);
    expect(await early).toBe(1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toHaveLength(2);
    started[1].finish(2);
    expect([await late1, await late2]).toEqual([2, 2]);
  });

  it('keeps keys apart, and a failed read fails only its callers', async () => {
    const { reads, started } = controlledReads();
    const a = reads.get('a');
    const b = reads.get('b');
    expect(started.map((s) => s.key)).toEqual(['a', 'b']);
    started[0].fail(new Error('store down'));
    started[1].finish(7);
    await expect(a).rejects.toThrow('store down');
    expect(await b).toBe(7);
    const again = reads.get('a');
    expect(started).toHaveLength(3);
    started[2].finish(8);
    expect(await again).toBe(8);
  });
});
