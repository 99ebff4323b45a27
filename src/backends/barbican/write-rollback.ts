// Rollback of Barbican writes: what a multi-step write created (or may have created, when an
// answer was lost), and deleting it again when the write fails. Barbican has no transactions,
// so every write of the store runs through here.
import { retryEachWithin } from '../../core/concurrency';
import { withContext } from '../../core/errors';
import type { BarbicanClient } from './client';
import { mayHaveTakenEffect } from './errors';
import { plural } from '../../core/text';

type ObjectKind = 'secret' | 'container';

/**
 * One object a write created, newest last. An object whose creation request may have reached
 * Barbican without its answer reaching certctl (connection lost, 5xx) is kept by what
 * identifies it instead of an id: its name, and when others may share that name, its payload.
 */
export type CreatedObject =
  | { kind: ObjectKind; id: string }
  | {
      kind: ObjectKind;
      uncertainName: string;
      /** Only an object with exactly this payload is ours (the name is shared). */
      payload?: string;
      /** Only the newest objects of that name are candidates (a log with many segments of one name). */
      newest?: number;
      /** How the operator recognises it, for the error when it cannot be deleted. */
      recognise?: string;
    }
  /** A container of a shared name whose creation may have taken effect: it can only be named. */
  | { kind: 'unidentifiable'; what: string };

/** What one multi-step write created so far; see {@link WriteRollback.run}. */
export class WriteJournal {
  readonly created: CreatedObject[] = [];

  /**
   * Creates one object with `make` and records it. When the answer is lost, records what
   * identifies it (`identify`: its name alone — only for a name no other object has —, or its
   * name and payload), or, when nothing does, at least its name for the error; then rethrows.
   */
  async create(
    kind: ObjectKind,
    name: string,
    make: () => Promise<string>,
    identify: { by: 'name' } | { by: 'name-and-payload'; payload: string; newest?: number; recognise?: string } | { by: 'nothing' },
  ): Promise<string> {
    try {
      const id = await make();
      this.created.push({ kind, id });
      return id;
    } catch (err) {
      if (mayHaveTakenEffect(err)) {
        if (identify.by === 'nothing') this.created.push({ kind: 'unidentifiable', what: `${kind} named "${name}"` });
        else if (identify.by === 'name') this.created.push({ kind, uncertainName: name });
        else this.created.push({ kind, uncertainName: name, payload: identify.payload, newest: identify.newest, recognise: identify.recognise });
      }
      throw err;
    }
  }
}

/**
 * Runs writes so that a failed one leaves nothing behind, or says exactly what it left.
 * `windowMs`: how long a rollback keeps trying while Barbican is unreachable.
 */
export class WriteRollback {
  constructor(
    private readonly client: BarbicanClient,
    private readonly windowMs: number,
  ) {}

  /**
   * Runs `write` with a fresh journal; when it fails, deletes everything the journal holds
   * (containers first: deleting a container leaves its secrets) and rethrows. Objects that
   * still cannot be deleted are named in the error, each with the command that deletes it.
   * @throws the write's error (same kind, so the exit code still says whether a retry helps).
   */
  async run(what: string, write: (journal: WriteJournal) => Promise<void>): Promise<void> {
    const journal = new WriteJournal();
    try {
      await write(journal);
    } catch (err) {
      const left = await this.undo(journal, this.windowMs);
      if (left.length === 0) throw err;
      throw withContext(err, `${(err as Error).message}; ${leftoverMessage(what, left)}`);
    }
  }

  /** Deletes what a journal holds, containers first; returns what could not be deleted within `windowMs`. */
  async undo(journal: WriteJournal, windowMs: number): Promise<CreatedObject[]> {
    const containersFirst = (o: CreatedObject) => (o.kind === 'container' ? 0 : 1);
    const ordered = [...journal.created].sort((a, b) => containersFirst(a) - containersFirst(b));
    const unidentifiable = ordered.filter((o) => o.kind === 'unidentifiable');
    const deletable = ordered.filter((o) => o.kind !== 'unidentifiable');
    const failed = deletable.length ? await retryEachWithin(deletable, windowMs, (o) => this.delete(o)) : [];
    return [...failed, ...unidentifiable];
  }

  private async delete(o: CreatedObject): Promise<void> {
    for (const found of await this.resolve(o)) {
      if (found.kind === 'container') await this.client.deleteContainer(found.id);
      else await this.client.deleteSecret(found.id);
    }
  }

  /** Ids of the objects an entry stands for (none when an uncertain request never took effect). */
  private async resolve(o: CreatedObject): Promise<{ kind: ObjectKind; id: string }[]> {
    if (o.kind === 'unidentifiable') return [];
    if ('id' in o) return [o];
    const listed = o.kind === 'secret' ? await this.client.listSecrets({ name: o.uncertainName }) : await this.client.listContainers({ name: o.uncertainName });
    // Listed oldest first: the newest are at the end.
    const candidates = o.newest === undefined ? listed : listed.slice(-o.newest);
    const ours: { kind: ObjectKind; id: string }[] = [];
    for (const c of candidates) {
      // Barbican strips whitespace around payloads, so they are compared trimmed.
      if (o.payload === undefined || (await this.client.getPayload(c.id, `secret ${c.id}`)).trim() === o.payload.trim()) ours.push({ kind: o.kind, id: c.id });
    }
    return ours;
  }
}

/** The part of the error that names what a rollback left behind, with how to delete each. */
export function leftoverMessage(what: string, left: CreatedObject[]): string {
  const items = left.map((o) => {
    if (o.kind === 'unidentifiable') return `${o.what}, if Barbican created it (find it with \`openstack secret container list --name\`)`;
    const command = o.kind === 'container' ? 'openstack secret container delete' : 'openstack secret delete';
    if ('id' in o) return `\`${command} ${o.id}\``;
    const list = o.kind === 'container' ? 'openstack secret container list' : 'openstack secret list';
    const which = o.recognise ? `, the one ${o.recognise}` : '';
    return `the ${o.kind} named "${o.uncertainName}"${which}, if Barbican created it (\`${list} --name "${o.uncertainName}"\`, then \`${command} <id>\`)`;
  });
  const n = left.length;
  return `while undoing ${what}, ${plural(n, 'object')} could not be deleted — delete ${n === 1 ? 'it' : 'them'}: ${items.join('; ')}`;
}
