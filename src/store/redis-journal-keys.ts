/**
 * The Redis keys of one journal, all under one base key (e.g. `gpupool:job:<id>:journal`).
 * Same content as the SQLite tables: done items as blobs of seq runs (`seq-codec.ts`), failed
 * items with their errors, one progress hash, learned limits, meta.
 */
export interface RedisJournalKeys {
  /** fingerprint, description, schema, and `user.<key>` for setMeta. */
  readonly meta: string;
  /** A list of seq blobs, one per commit, folded into one now and then. */
  readonly done: string;
  /** Hash seq → `{id, code, message, failedAt}`. */
  readonly failed: string;
  /** Sorted set of failed seqs (score = seq): the first failures by seq, without a sort. */
  readonly failedOrder: string;
  /** outputBytes, done, failed, commits, startedAt, updatedAt, finishedAt, total. */
  readonly progress: string;
  /** Hash `model\0deviceKey` → `{limit, updatedAt}`. */
  readonly limits: string;
  /** The holder's lease (`redis-lease.ts`). */
  readonly lock: string;
}

export const REDIS_JOURNAL_SCHEMA = 1;

export function redisJournalKeys(base: string): RedisJournalKeys {
  return {
    meta: `${base}:meta`,
    done: `${base}:done`,
    failed: `${base}:failed`,
    failedOrder: `${base}:failed-order`,
    progress: `${base}:progress`,
    limits: `${base}:limits`,
    lock: `${base}:lock`,
  };
}

/** Every key holding data (the lock aside): what `fresh` deletes. */
export function dataKeys(keys: RedisJournalKeys): string[] {
  return [keys.meta, keys.done, keys.failed, keys.failedOrder, keys.progress, keys.limits];
}

export const LIMIT_KEY_SEPARATOR = '\u0000';
