import type { Job } from 'bullmq';
import type { ChunkData } from './chunk-format.js';
import type { ChunkQueue } from './chunk-queue.js';
import type { OpenChunks } from './open-chunks.js';
import type { ResultWriter } from './result-writer.js';

export interface ChunkRescuerOptions {
  /** The job's chunks. */
  readonly queue: ChunkQueue;
  /** The job's suspects: one-item chunks that agents run with nothing else in hand. */
  readonly solo: ChunkQueue;
  readonly open: OpenChunks;
  readonly writer: ResultWriter;
  readonly log: (line: string) => void;
  /** How often lost chunks are looked for. */
  readonly everyMs: number;
  /** How often open chunks are checked against Redis for ones it lost. @defaultValue 10000 */
  readonly missingEveryMs?: number;
}

/** A suspect lost with its agent this many times, alone, fails for good (GPUPOOL_E_AGENT_LOST). */
const MAX_LOSSES_ALONE = 2;

/**
 * Takes back the chunks an agent died holding. BullMQ fails a chunk whose lock expired
 * (`maxStalledCount: 0`); its items not yet in the output go back split in halves, so an item
 * that kills every agent that runs it is cornered in a few rounds while its neighbours
 * complete. A one-item chunk goes to the job's solo queue, where an agent runs it with nothing
 * else in hand: lost there, the item is the one to blame, and a second time it fails alone.
 * Also finds chunks Redis lost (restarted without persistence), so the submitter reads their
 * items again instead of waiting for ever.
 */
export class ChunkRescuer {
  splits = 0;
  /** Chunks Redis no longer had: their items must be read again. */
  lost = 0;
  readonly #suspects = new Set<string>();
  #timer?: NodeJS.Timeout;
  #lastMissingCheck = performance.now();
  #running?: Promise<void>;
  #stopped = false;

  constructor(private readonly options: ChunkRescuerOptions) {}

  start(): void {
    this.#timer = setInterval(() => {
      this.#running ??= this.tick().finally(() => (this.#running = undefined));
    }, this.options.everyMs);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#running;
  }

  async tick(): Promise<void> {
    try {
      for (const job of await this.options.queue.failed()) await this.#takeBack(job, false);
      for (const job of [...(await this.options.solo.failed()), ...(await this.options.solo.lockless())]) await this.#takeBack(job, true);
      const every = this.options.missingEveryMs ?? 10_000;
      if (performance.now() - this.#lastMissingCheck >= every) {
        this.#lastMissingCheck = performance.now();
        await this.findMissing();
      }
    } catch (err) {
      if (!this.#stopped) this.options.log(`checking chunks: ${(err as Error).message}`);
    }
  }

  /** A chunk lost with its agent: split it, run its one item alone, or fail that item for good. */
  async #takeBack(job: Job<ChunkData>, alone: boolean): Promise<void> {
    if (this.#stopped) return;
    const { queue, solo, open, writer } = this.options;
    const id = job.id!;
    const items = job.data.items.filter(([seq]) => !writer.has(seq));
    const why = job.failedReason || 'its lock expired';
    let parts: [ChunkQueue, string, ChunkData][] = [];
    if (items.length === 1 && alone && (job.data.lost ?? 0) + 1 >= MAX_LOSSES_ALONE) {
      const [seq, itemId] = items[0];
      const lost = (job.data.lost ?? 0) + 1;
      writer.failure(seq, itemId, 'GPUPOOL_E_AGENT_LOST', `the agent running this item alone died ${lost} times with it (chunk ${id}; last: ${why})`);
      await writer.flush();
      this.options.log(`item ${JSON.stringify(itemId)} killed its agent ${lost} times while running alone: failed for good`);
    } else if (items.length === 1) {
      parts = [[solo, `${id}.s`, { items, lost: alone ? (job.data.lost ?? 0) + 1 : 0 }]];
    } else if (items.length > 1) {
      const half = Math.ceil(items.length / 2);
      parts = [
        [queue, `${id}.0`, { items: items.slice(0, half) }],
        [queue, `${id}.1`, { items: items.slice(half) }],
      ];
      this.splits++;
      this.options.log(`chunk ${id} was lost with its agent (${why}); its ${items.length} items go back as two chunks`);
    }
    open.replace(id, parts.map(([, partId, data]) => [partId, data.items.map(([seq]) => seq)]));
    for (const [q, partId, data] of parts) await q.add(partId, data);
    // Only now: a kill before this leaves the lost chunk to be taken back again, harmlessly.
    await job.remove().catch(() => undefined);
  }

  /** A chunk neither queue knows, twice in a row, is lost: its items are read again at the end. */
  async findMissing(): Promise<void> {
    const { queue, solo, open } = this.options;
    const ids = open.ids();
    const known = await Promise.all(ids.map(async (id) => (await queue.stateOf(id)) !== 'unknown' || (await solo.stateOf(id)) !== 'unknown'));
    const missing = new Set(ids.filter((_, i) => !known[i]));
    for (const id of missing) {
      if (!this.#suspects.has(id)) continue;
      open.close(id);
      this.lost++;
      this.options.log(`chunk ${id} is no longer in Redis (was Redis restarted without persistence?); its items will be read again`);
    }
    this.#suspects.clear();
    for (const id of missing) if (open.has(id)) this.#suspects.add(id);
  }
}
