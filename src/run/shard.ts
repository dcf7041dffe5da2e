import { createHash } from 'node:crypto';

/**
 * `--shard I/N`: a JSONL line is the shard's when its position modulo N is I; a file of a folder
 * or glob when a hash of its path (relative to where the walk starts) modulo N is I. Shards
 * list a folder each on its own machine, maybe while files still arrive: by name, a file is one
 * shard's whatever the others listed, so no file runs twice (by position, one file added in the
 * middle between two shards' starts moved every later file to the other shard).
 */
export interface Shard {
  readonly index: number;
  readonly count: number;
}

/** Whether the input at `seq` (its 0-based position: a JSONL line number - 1) is the shard's. */
export function shardOwns(shard: Shard, seq: number): boolean {
  return seq % shard.count === shard.index;
}

/** Whether the input `name`d so (a folder's file: its path relative to the walk's start, with `/`) is the shard's. */
export function shardOwnsName(shard: Shard, name: string): boolean {
  return createHash('sha1').update(name).digest().readUInt32BE(0) % shard.count === shard.index;
}

/** The shard as a job's description writes it (`jobIdentity`): "I/N", and " by file name" for a folder or glob. */
export function describeShard(shard: Shard, byName: boolean): string {
  return `${shard.index}/${shard.count}${byName ? ' by file name' : ''}`;
}

/** A JSONL job's shard as its description writes it ("I/N"), or undefined for a job of all inputs (or a folder's). */
export function describedShard(description: Record<string, unknown>): Shard | undefined {
  const m = typeof description.shard === 'string' ? /^(\d+)\/(\d+)$/.exec(description.shard) : null;
  return m === null ? undefined : { index: Number(m[1]), count: Number(m[2]) };
}
