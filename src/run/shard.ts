/** `--shard I/N`: the inputs whose position modulo N is I. */
export interface Shard {
  readonly index: number;
  readonly count: number;
}

/** Whether the input at `seq` (its 0-based position: a JSONL line number - 1) is the shard's. */
export function shardOwns(shard: Shard, seq: number): boolean {
  return seq % shard.count === shard.index;
}

/** The shard as a job's description writes it (`jobIdentity`: "I/N"), or undefined for a job of all inputs. */
export function describedShard(description: Record<string, unknown>): Shard | undefined {
  const m = typeof description.shard === 'string' ? /^(\d+)\/(\d+)$/.exec(description.shard) : null;
  return m === null ? undefined : { index: Number(m[1]), count: Number(m[2]) };
}
