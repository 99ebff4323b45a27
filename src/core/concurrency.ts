/**
 * Runs `fn` over `items` with at most `limit` calls in flight and returns the results in order.
 * After the first failure no new call starts; the ones in flight are awaited (so a caller that
 * rolls back sees every write that happened), then the first error is thrown.
 * Written by hand: it is a dozen lines, and the stop-then-drain behaviour is what rollbacks need.
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (!failure && next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i], i);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
  return out;
}
