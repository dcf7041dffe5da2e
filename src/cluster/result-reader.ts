import type { Redis } from 'ioredis';
import { decodeChunkResult, type ChunkResult } from './chunk-format.js';

export interface ResultReaderOptions {
  /** A connection of its own: XREAD BLOCK holds it. */
  readonly blocking: Redis;
  /** For XDEL. */
  readonly redis: Redis;
  readonly key: string;
  /** Must have made the results durable (output and journal) when it resolves. */
  readonly onResults: (results: ChunkResult[]) => Promise<void>;
  readonly log: (line: string) => void;
  /** Entries per read. @defaultValue 64 */
  readonly count?: number;
}

/**
 * Reads a job's result stream from the start: entries left by a submitter that was killed
 * come first. An entry is deleted only after `onResults` has made it durable, which is the
 * acknowledgement: a kill before that leaves it in the stream for the next run.
 */
export class ResultReader {
  #stopped = false;
  #lastId = '0';
  #running?: Promise<void>;
  /** performance.now() of the last entry read, for the lost-chunk check. */
  lastResultAt = performance.now();

  constructor(private readonly options: ResultReaderOptions) {}

  start(): void {
    this.#running ??= this.#loop();
  }

  /** Stops now: the blocking connection is closed, which ends the read in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.options.blocking.disconnect();
    await this.#running?.catch(() => undefined);
  }

  /** The loop's end: rejects if writing results failed (disk full…). */
  get done(): Promise<void> {
    return this.#running ?? Promise.resolve();
  }

  async #loop(): Promise<void> {
    const { blocking, redis, key, onResults, count = 64 } = this.options;
    while (!this.#stopped) {
      let reply: [string, [string, string[]][]][] | null;
      try {
        reply = await blocking.xread('COUNT', count, 'BLOCK', 1000, 'STREAMS', key, this.#lastId);
      } catch (err) {
        if (this.#stopped) return;
        throw err;
      }
      const entries = reply?.[0]?.[1] ?? [];
      if (entries.length === 0) continue;
      const results: ChunkResult[] = [];
      for (const [id, fields] of entries) {
        try {
          results.push(decodeChunkResult(fields));
        } catch (err) {
          // Not ours to read (another version, damage): its chunk is redone as lost.
          this.options.log(`dropping result entry ${id}: ${(err as Error).message}`);
        }
      }
      this.lastResultAt = performance.now();
      await onResults(results);
      const ids = entries.map(([id]) => id);
      await redis.xdel(key, ...ids);
      this.#lastId = ids[ids.length - 1];
    }
  }
}
