import { Queue, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ChunkData } from './chunk-format.js';
import type { ClusterKeys } from './cluster-keys.js';

/**
 * BullMQ's own event stream of a queue: nobody reads it here, so keep it short (BullMQ's
 * default, 10,000 events, is ~0.7 MB per job in Redis).
 */
const EVENTS_MAX_LEN = 100;

/** States in which a chunk is still to be answered; read in the order a chunk moves through them. */
const OPEN_STATES = ['prioritized', 'waiting', 'delayed', 'active', 'failed'] as const;

export interface OpenChunk {
  readonly id: string;
  readonly data: ChunkData;
}

/** The submitter's side of a job's BullMQ queue: add chunks, find those still open, take failed ones back. */
export class ChunkQueue {
  readonly #queue: Queue<ChunkData>;

  readonly name: string;
  readonly #redis: Redis;
  readonly #keys: ClusterKeys;

  /** `solo`: the job's queue of suspects; `readOnly` (status): opening it writes nothing to Redis. */
  constructor(redis: Redis, keys: ClusterKeys, jobId: string, options: { solo?: boolean; readOnly?: boolean } = {}) {
    const readOnly = options.readOnly ?? false;
    this.name = options.solo ? keys.soloQueueName(jobId) : keys.queueName(jobId);
    this.#redis = redis;
    this.#keys = keys;
    this.#queue = new Queue<ChunkData>(this.name, {
      connection: redis,
      prefix: keys.prefix,
      skipMetasUpdate: readOnly,
      streams: { events: { maxLen: EVENTS_MAX_LEN } },
    });
    // Connection errors: the connection's own watcher reports an outage once, and commands wait it out.
    this.#queue.on('error', () => undefined);
  }

  /**
   * Adds a chunk; an id that is already queued is left as it is (BullMQ ignores the second
   * add), so a submitter re-adding after a restart never doubles a chunk.
   */
  async add(id: string, data: ChunkData): Promise<void> {
    await this.#queue.add('chunk', data, { jobId: id, removeOnComplete: true, removeOnFail: false, attempts: 1 });
  }

  /** Chunks not yet completed, with their items. */
  async listOpen(): Promise<OpenChunk[]> {
    const seen = new Set<string>();
    const out: OpenChunk[] = [];
    for (const state of OPEN_STATES) {
      for (const job of await this.#queue.getJobs([state])) {
        if (!job?.id || seen.has(job.id)) continue;
        seen.add(job.id);
        out.push({ id: job.id, data: job.data });
      }
    }
    return out;
  }

  /** Failed chunks (their agent died holding them, or could not send their results). */
  async failed(limit = 100): Promise<Job<ChunkData>[]> {
    return (await this.#queue.getFailed(0, limit - 1)).filter((j): j is Job<ChunkData> => !!j?.id);
  }

  /**
   * Chunks being run (active) whose lock is gone: their agent died. Solo chunks are run by
   * hand, without a BullMQ stalled check, so the submitter looks for them itself.
   */
  async lockless(): Promise<Job<ChunkData>[]> {
    const base = `${this.#keys.prefix}:${this.name}`;
    const out: Job<ChunkData>[] = [];
    for (const id of await this.#redis.lrange(`${base}:active`, 0, -1)) {
      if ((await this.#redis.exists(`${base}:${id}:lock`)) === 1) continue;
      const job = await this.#queue.getJob(id);
      if (job) out.push(job);
    }
    return out;
  }

  async waiting(): Promise<number> {
    return this.#queue.getWaitingCount();
  }

  /** `unknown` for a chunk Redis no longer has (completed and removed, or lost). */
  async stateOf(id: string): Promise<string> {
    return this.#queue.getJobState(id);
  }

  async counts(): Promise<Record<string, number>> {
    return this.#queue.getJobCounts('waiting', 'active', 'failed', 'delayed', 'prioritized');
  }

  /**
   * Sets the event stream's cap in the queue's meta: BullMQ writes it when the queue object is
   * made, but a worker's script that runs first (or an obliterate after) leaves the default.
   */
  async capEvents(): Promise<void> {
    await this.#queue.waitUntilReady();
    await this.#redis.hset(`${this.#keys.prefix}:${this.name}:meta`, 'opts.maxLenEvents', EVENTS_MAX_LEN);
  }

  /** Deletes the queue and every chunk in it. */
  async obliterate(): Promise<void> {
    await this.#queue.obliterate({ force: true });
  }

  async close(): Promise<void> {
    await this.#queue.close();
  }
}

/**
 * Deletes what BullMQ workers leave of a finished job's queue (its meta hash, stalled-check
 * marks), in one script and only while the job is not registered and its queue holds no
 * chunk: an agent calls it after letting go of a job, so the last one out leaves nothing.
 * A queue marked paused is being obliterated by a submitter (BullMQ's obliterate pauses, then
 * runs its script, which refuses a queue no longer paused): deleting the meta hash in between
 * would fail that submit, and the obliterate deletes those keys itself (all but `limiter` and
 * `de`: BullMQ's rate limiter and deduplication, which no job here uses).
 *   KEYS: jobs hash, the queue's meta hash, then `holding` keys that must be empty, then keys to delete.
 */
const FORGET = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 0 end
if redis.call('HEXISTS', KEYS[2], 'paused') == 1 then return 0 end
local holding = tonumber(ARGV[2])
for i = 3, holding + 2 do if redis.call('EXISTS', KEYS[i]) == 1 then return 0 end end
for i = holding + 3, #KEYS do redis.call('DEL', KEYS[i]) end
return 1`;

const HOLDING = ['wait', 'active', 'paused', 'delayed', 'prioritized', 'failed', 'waiting-children'];
const LEFTOVERS = ['meta', 'stalled-check', 'stalled', 'events', 'marker', 'id', 'pc', 'limiter', 'completed', 'de'];

export async function forgetQueue(redis: Redis, keys: ClusterKeys, jobId: string, queueName: string): Promise<boolean> {
  const base = `${keys.prefix}:${queueName}`;
  const all = [keys.jobs, `${base}:meta`, ...HOLDING.map((k) => `${base}:${k}`), ...LEFTOVERS.map((k) => `${base}:${k}`)];
  return (await redis.eval(FORGET, all.length, ...all, jobId, HOLDING.length)) === 1;
}
