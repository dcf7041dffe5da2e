import type { ModelConfig } from '../config/index.js';
import { GpupoolError } from '../errors/index.js';
import type { PoolWorker } from '../pool/index.js';
import type { ModelScheduler } from '../scheduler/index.js';
import { exitSummary } from '../worker/index.js';
import type { RateCounter } from './rate-counter.js';

/** Worker states in which a worker takes batches. */
export function isWorkerReady(w: PoolWorker): boolean {
  const s = w.supervisor.state;
  return s === 'ready' || s === 'busy';
}

/**
 * One `kind: process` model as the server sees it: its scheduler and workers once the pool
 * has started, and the bound on what online requests may have queued or running, so that
 * overload is a quick 429 rather than a queue that grows until every request times out.
 */
export class ServedModel {
  scheduler?: ModelScheduler;
  workers: readonly PoolWorker[] = [];
  /** Items of online requests pushed and not yet answered. */
  outstanding = 0;
  /** Bound on `outstanding`; set when the pool starts (it depends on the workers' capacity). */
  maxQueued: number;

  constructor(
    readonly config: ModelConfig,
    private readonly maxQueuedOption: number | undefined,
    private readonly rates: RateCounter,
  ) {
    this.maxQueued = maxQueuedOption ?? 1024;
  }

  get name(): string {
    return this.config.name;
  }

  attach(scheduler: ModelScheduler, workers: readonly PoolWorker[]): void {
    this.scheduler = scheduler;
    this.workers = workers;
    const capacity = workers.reduce((n, w) => n + w.limit.max * w.maxInflight, 0);
    this.maxQueued = this.maxQueuedOption ?? Math.max(1024, capacity * 4);
  }

  get readyWorkers(): number {
    let n = 0;
    for (const w of this.workers) if (isWorkerReady(w)) n++;
    return n;
  }

  /** Every worker gave up (crash loop): nothing will answer until the server restarts. */
  get down(): boolean {
    return this.workers.length > 0 && this.workers.every((w) => w.supervisor.state === 'given-up');
  }

  /** Why `count` more items cannot be taken now, or undefined when they can. */
  refuse(count: number, closing: boolean): GpupoolError | undefined {
    if (closing) return this.unavailable('the server is shutting down');
    if (!this.scheduler) return this.unavailable(`model "${this.name}" is starting: its workers are loading`);
    if (this.down) {
      const lastExit = this.workers[0]?.supervisor.lastExit;
      const last = lastExit === undefined ? 'unknown' : exitSummary(lastExit);
      // Not NOT_READY with a Retry-After: nothing will answer until the server restarts, so a client that waits and retries waits for nothing.
      return new GpupoolError('GPUPOOL_E_CRASH_LOOP', `every worker of model "${this.name}" gave up after crashing on start (last: ${last}); see the worker logs, fix the model and restart the server`);
    }
    if (count > this.maxQueued) {
      return new GpupoolError(
        'GPUPOOL_E_BAD_REQUEST',
        `this request carries ${count} inputs, more than model "${this.name}" ever queues (${this.maxQueued}, --max-queued): split it into smaller requests, or submit a job`,
      );
    }
    if (this.outstanding + count > this.maxQueued) {
      const retryAfter = this.retryAfterSeconds();
      return new GpupoolError(
        'GPUPOOL_E_OVERLOADED',
        `model "${this.name}" has ${this.outstanding} items queued or running and takes at most ${this.maxQueued} (--max-queued); this request brings ${count}: retry after ${retryAfter} s`,
        { details: { retryAfter } },
      );
    }
    return undefined;
  }

  /** Seconds until the backlog is likely worked off at the recent rate, 1..60. */
  retryAfterSeconds(): number {
    const rate = this.rates.perSecond(this.name);
    return Math.min(60, Math.max(1, Math.ceil(this.outstanding / Math.max(1, rate))));
  }

  private unavailable(message: string): GpupoolError {
    return new GpupoolError('GPUPOOL_E_NOT_READY', message, { details: { retryAfter: 5 } });
  }
}
