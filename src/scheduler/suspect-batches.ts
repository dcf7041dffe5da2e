import type { Batch, DispatchTarget } from './dispatch-target.js';

/**
 * Batches holding an item that ran out of memory before (a bisection under way, or an item far
 * larger than the rest, run alone), per target: in flight (`endedAt` Infinity) or lately
 * answered. A neighbour's batch that ran beside one and ran out of memory may have done so for
 * what that item took (running, or left in its worker's cache), not for its own size.
 */
export class SuspectBatches {
  private readonly byTarget = new Map<DispatchTarget, { batch: Batch; endedAt: number }[]>();

  /** `batch` was sent, holding an item that ran out of memory before. */
  sent(batch: Batch): void {
    let list = this.byTarget.get(batch.target);
    if (list === undefined) this.byTarget.set(batch.target, (list = []));
    list.push({ batch, endedAt: Infinity });
    // A few are enough: a neighbour's batch that ran beside one is answered soon after it.
    if (list.length > 16) list.splice(0, list.length - 16);
  }

  /** `batch` was answered or lost (nothing happens for a batch that was not a suspect). */
  ended(batch: Batch): void {
    const entry = this.byTarget.get(batch.target)?.find((e) => e.batch === batch);
    if (entry !== undefined) entry.endedAt = performance.now();
  }

  /** Whether one of `neighbours` ran a suspect batch after `sentAt` (in flight then, or answered since). */
  ranAfter(neighbours: readonly DispatchTarget[], sentAt: number): boolean {
    for (const neighbour of neighbours) for (const { endedAt } of this.byTarget.get(neighbour) ?? []) if (endedAt > sentAt) return true;
    return false;
  }
}
