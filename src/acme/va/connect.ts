/** Connecting to one of an identifier's addresses: the fallback between them and the connect timeout. */
import type { Socket } from 'node:net';
import { InternalError } from '../../core/errors';
import type { Deadline } from './deadline';
import { ChallengeFailure } from './problems';

/**
 * Destroys `socket` with a connection problem when TCP has not connected within `ms`, so a
 * black-holed first address leaves time to try the second.
 */
export function connectTimeout(socket: Socket, ms: number, where: string): void {
  const timer = setTimeout(() => socket.destroy(new ChallengeFailure('connection', `timeout connecting to ${where}`, true)), ms);
  socket.once('connect', () => clearTimeout(timer));
  socket.once('close', () => clearTimeout(timer));
}

/**
 * `attempt` on each address in turn until one connects: the next address is tried only when the
 * connection itself failed (ChallengeFailure.beforeConnect), never after a peer answered. Each
 * attempt may take its share of the time left for connecting.
 * @throws the last attempt's error.
 */
export async function firstConnecting<T>(
  addresses: readonly string[],
  deadline: Deadline,
  attempt: (address: string, connectTimeoutMs: number) => Promise<T>,
): Promise<{ value: T; address: string }> {
  for (const [i, address] of addresses.entries()) {
    const left = addresses.length - i;
    try {
      return { value: await attempt(address, Math.ceil(deadline.remaining() / left)), address };
    } catch (err) {
      if (left === 1 || !(err instanceof ChallengeFailure) || !err.beforeConnect) throw err;
    }
  }
  throw new InternalError('validation was given no address to connect to');
}
