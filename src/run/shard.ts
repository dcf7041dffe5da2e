import { createHash } from 'node:crypto';
import { GpupoolError } from '../errors/index.js';

/**
 * `--shard I/N`: an input is the shard's when its position modulo N is I. With `--shard-by name`
 * (a folder or glob), a file is when a hash of its path (relative to where the walk starts)
 * modulo N is I. Shards list a folder each on its own machine, maybe while files still arrive:
 * by name, a file is one shard's whatever the others listed, so no file runs twice (by position,
 * one file added in the middle between two shards' starts moved every later file to the other shard).
 */
export interface Shard {
  readonly index: number;
  readonly count: number;
  /** @defaultValue position */
  readonly by?: ShardRule;
}

export const SHARD_RULES = ['position', 'name'] as const;
export type ShardRule = (typeof SHARD_RULES)[number];

/** Whether the input at `seq` (its 0-based position: a JSONL line number - 1) is the shard's. */
export function shardOwns(shard: Shard, seq: number): boolean {
  return seq % shard.count === shard.index;
}

/** Whether the input `name`d so (a folder's file: its path relative to the walk's start, with `/`) is the shard's. */
export function shardOwnsName(shard: Shard, name: string): boolean {
  // NFC: a Mac's mount may spell "é" as e + accent (NFD) where Linux's spells it as one character.
  return createHash('sha1').update(name.normalize('NFC')).digest().readUInt32BE(0) % shard.count === shard.index;
}

/** The shard as a job's description writes it (`jobIdentity`): "I/N", and " by file name" with `--shard-by name`. */
export function describeShard(shard: Shard): string {
  return `${shard.index}/${shard.count}${shard.by === 'name' ? ' by file name' : ''}`;
}

/** A job's shard as its description writes it ("I/N", "I/N by file name"), or undefined for a job of all inputs. */
export function describedShard(description: Record<string, unknown>): Shard | undefined {
  const m = typeof description.shard === 'string' ? /^(\d+)\/(\d+)( by file name)?$/.exec(description.shard) : null;
  return m === null ? undefined : { index: Number(m[1]), count: Number(m[2]), by: m[3] === undefined ? 'position' : 'name' };
}

/** `--shard-by name` over an input whose items have no names (a JSONL file, stdin): GPUPOOL_E_USAGE naming it. */
export function shardByNameRefused(input: string): GpupoolError {
  return new GpupoolError(
    'GPUPOOL_E_USAGE',
    `--shard-by name takes a folder or glob as input (its files have names), got "${input}", whose lines have none: leave --shard-by out to shard them by position`,
  );
}
