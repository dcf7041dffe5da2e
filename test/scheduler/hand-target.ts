// Dispatch targets answered by hand, for scheduler tests that step through one batch at a time.
import { batchSchema } from '../../src/config/index.js';
import { AdaptiveBatchLimit, ModelScheduler, type Batch, type DispatchTarget, type ItemSink } from '../../src/scheduler/index.js';

/** A target answered by hand, whose release is answered by hand too. */
export class HandTarget implements DispatchTarget {
  readonly batches: Batch[] = [];
  readonly limit: AdaptiveBatchLimit;
  releases: (() => void)[] = [];
  constructor(
    readonly id: string,
    readonly deviceKey: string,
    max: number | AdaptiveBatchLimit = 1,
    readonly maxInflight = 2,
  ) {
    this.limit = typeof max === 'number' ? new AdaptiveBatchLimit({ max }) : max;
  }
  get inflightCount(): number {
    return this.batches.length;
  }
  acceptsWork(): boolean {
    return true;
  }
  send(batch: Batch): boolean {
    this.batches.push(batch);
    return true;
  }
  take(): Batch {
    return this.batches.shift()!;
  }
  /** Releases nothing waits for (`waited: false`, a cache trimmed as the limit grows): counted, answered at once. */
  trims = 0;
  releaseMemory(waited = true): Promise<void> {
    if (!waited) {
      this.trims++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.releases.push(resolve));
  }
  answerReleases(): void {
    for (const r of this.releases.splice(0)) r();
  }
}

/**
 * A scheduler with batch.max `max` over hand-answered targets, one per entry of `devices` (its
 * device key), named a, b, c…: by default two sharing cuda:0 (and so one limit, as a pool's do).
 */
export function handScheduler(max = 1, maxInflight = 2, devices = ['cuda:0', 'cuda:0'], maxAttempts = 3, sink: ItemSink = { done: () => {}, failed: () => {} }) {
  const scheduler = new ModelScheduler({
    model: 'm',
    batch: batchSchema.parse({ max, timeout: 1 }),
    maxAttempts,
    sink,
  });
  const limits = new Map(devices.map((d) => [d, new AdaptiveBatchLimit({ max })]));
  const targets = devices.map((d, i) => new HandTarget(String.fromCharCode(97 + i), d, limits.get(d)!, maxInflight));
  for (const t of targets) scheduler.addTarget(t);
  const [a, b] = targets;
  return { scheduler, targets, a, b };
}

export const tick = () => new Promise((r) => setImmediate(r));
