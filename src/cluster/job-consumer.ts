import { randomUUID } from 'node:crypto';
import { Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { newWorkItem, type ModelScheduler } from '../scheduler/index.js';
import type { AgentJobCounts } from './agent-info.js';
import { encodeChunkResult, type ChunkData } from './chunk-format.js';
import { ChunkRun } from './chunk-run.js';
import type { ClusterJob } from './cluster-job.js';
import type { ClusterKeys } from './cluster-keys.js';

export interface JobConsumerOptions {
  readonly job: ClusterJob;
  readonly keys: ClusterKeys;
  /** The agent's connection: BullMQ duplicates it for its blocking reads. */
  readonly redis: Redis;
  readonly agentId: string;
  readonly scheduler: ModelScheduler;
  /** Chunks held at once: enough that the devices never wait for the next chunk. */
  readonly prefetch: number;
  readonly log: (line: string) => void;
}

/** How often BullMQ errors of one consumer are logged at most (a Redis outage raises many). */
const ERROR_LOG_EVERY_MS = 5000;

/**
 * An agent's consumer of one job's chunk queue: a BullMQ worker whose processor feeds a
 * chunk's items to the local scheduler (so they are batched together), waits for all of
 * them, and adds the results to the job's result stream before BullMQ completes the chunk.
 * Its lock is renewed while it works; if the agent dies, the lock expires and the chunk
 * fails as stalled (`maxStalledCount: 0`), for the submitter to split and queue again.
 */
export class JobConsumer {
  readonly #worker: Worker<ChunkData>;
  /** Takes suspects by hand, one at a time, while the agent holds nothing else (made on first use). */
  #soloWorker?: Worker<ChunkData>;
  readonly #options: JobConsumerOptions;
  #active = 0;
  #itemsDone = 0;
  #itemsFailed = 0;
  #chunksDone = 0;
  #lastErrorLog = 0;

  constructor(options: JobConsumerOptions) {
    this.#options = options;
    const { job, keys } = options;
    this.#worker = new Worker<ChunkData>(keys.queueName(job.id), (chunk) => this.#process(chunk), {
      connection: options.redis,
      prefix: keys.prefix,
      name: options.agentId,
      concurrency: options.prefetch,
      lockDuration: job.lockDurationMs,
      stalledInterval: Math.max(250, Math.floor(job.lockDurationMs / 2)),
      maxStalledCount: 0,
    });
    this.#worker.on('error', (err) => this.#logError(err));
  }

  get jobId(): string {
    return this.#options.job.id;
  }

  counts(): AgentJobCounts {
    return { prefetch: this.#options.prefetch, active: this.#active, itemsDone: this.#itemsDone, itemsFailed: this.#itemsFailed, chunksDone: this.#chunksDone };
  }

  /** Stops taking chunks; resolves once the chunks in hand are answered and their results sent. */
  async close(): Promise<void> {
    await Promise.all([this.#worker.close(), this.#soloWorker?.close()]);
  }

  /** Stops now; chunks in hand are left to expire and go to another agent. */
  async destroy(): Promise<void> {
    await Promise.all([this.#worker.close(true), this.#soloWorker?.close(true)]).catch(() => undefined);
  }

  /** Stops taking chunks until {@link resume}; resolves once those in hand are answered. */
  async pause(): Promise<void> {
    await this.#worker.pause();
  }

  resume(): void {
    this.#worker.resume();
  }

  /** Whether a suspect chunk of this job waits for an agent with nothing else in hand. */
  async soloWaiting(): Promise<boolean> {
    const { keys, job, redis } = this.#options;
    return (await redis.llen(`${keys.prefix}:${keys.soloQueueName(job.id)}:wait`)) > 0;
  }

  /**
   * Runs one suspect chunk, if one is still waiting; the caller has paused every consumer of
   * the agent. Its lock is renewed by hand (no BullMQ loop runs it); if the agent dies, the
   * submitter finds the lock gone and blames the item.
   */
  async runSolo(): Promise<boolean> {
    const { keys, job, redis, agentId } = this.#options;
    if (!this.#soloWorker) {
      this.#soloWorker = new Worker<ChunkData>(keys.soloQueueName(job.id), null, {
        connection: redis,
        prefix: keys.prefix,
        name: agentId,
        autorun: false,
        lockDuration: job.lockDurationMs,
      });
      this.#soloWorker.on('error', (err) => this.#logError(err));
    }
    const token = randomUUID();
    const chunk = await this.#soloWorker.getNextJob(token, { block: false });
    if (!chunk) return false;
    const renew = setInterval(() => void chunk.extendLock(token, job.lockDurationMs).catch(() => undefined), Math.max(100, Math.floor(job.lockDurationMs / 3)));
    try {
      await this.#process(chunk);
      await chunk.moveToCompleted(null, token, false);
    } catch (err) {
      // Results sent already, or the chunk goes back to the submitter as lost: either way it is handled there.
      this.#logError(err as Error);
    } finally {
      clearInterval(renew);
    }
    return true;
  }

  async #process(chunk: Job<ChunkData>): Promise<null> {
    const { scheduler, agentId, keys, job, redis } = this.#options;
    const items = chunk.data.items;
    const run = new ChunkRun(chunk.id ?? '?', items.length, agentId);
    this.#active++;
    try {
      for (const [seq, id, json, cost] of items) scheduler.push(newWorkItem(seq, id, json, cost, run));
      await run.finished;
      // Before BullMQ completes the chunk: a kill in between redoes the chunk, and the
      // submitter drops the second copy of each result by its seq.
      await redis.xadd(keys.results(job.id), '*', ...encodeChunkResult(run.result()));
      this.#itemsDone += run.doneCount;
      this.#itemsFailed += run.failedCount;
      this.#chunksDone++;
      return null;
    } finally {
      this.#active--;
    }
  }

  #logError(err: Error): void {
    const now = Date.now();
    if (now - this.#lastErrorLog < ERROR_LOG_EVERY_MS) return;
    this.#lastErrorLog = now;
    this.#options.log(`job ${this.jobId}: ${err.message}`);
  }
}
