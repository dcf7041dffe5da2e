import type { AdaptiveBatchLimit, LimitMark } from './adaptive-batch-limit.js';
import type { DispatchTarget } from './dispatch-target.js';

/**
 * What one item's out-of-memory failures have done to the batch limits. From its first, a mark
 * on every limit (one per device: the workers there share it): what each knew then (where it
 * goes back if the item turns out to be the cause), the size proven then, and, as the mark is
 * watched, the largest batch that succeeded there since (on a device with one worker of the
 * model, a failure smaller than that is the item's).
 */
export class OomTrail {
  private readonly marks: Map<AdaptiveBatchLimit, LimitMark>;
  /**
   * Limits its failures lowered, not yet taken back, each with a target that has it (to report
   * the change), the smallest size it failed at there (`smallest`), and the smallest of those
   * above the size the mark says was proven (`unproven`; Infinity when every failure there was at
   * a size that had fitted again and again).
   */
  private readonly lowered = new Map<AdaptiveBatchLimit, { target: DispatchTarget; unproven: number; smallest: number }>();
  /** Found to be the cause ({@link takeLowered} was called with `blamed`). */
  private blamed = false;
  /** Each limit it failed on, with the smallest batch it failed in there: kept when {@link takeLowered} forgets {@link lowered}. */
  private readonly smallestFailures = new Map<AdaptiveBatchLimit, number>();

  constructor(startMarks: ReadonlyMap<AdaptiveBatchLimit, LimitMark>) {
    this.marks = new Map(startMarks);
  }

  /** It failed on `target` in a batch of `size`: returns the mark of `target`'s limit (made now for a limit added since its first failure). */
  failedOn(target: DispatchTarget, size: number): LimitMark {
    let mark = this.marks.get(target.limit);
    if (mark === undefined) this.marks.set(target.limit, (mark = target.limit.mark()));
    let entry = this.lowered.get(target.limit);
    if (entry === undefined) this.lowered.set(target.limit, (entry = { target, unproven: Infinity, smallest: size }));
    entry.smallest = Math.min(entry.smallest, size);
    this.smallestFailures.set(target.limit, Math.min(this.smallestFailures.get(target.limit) ?? Infinity, size));
    if (size > mark.proven) entry.unproven = Math.min(entry.unproven, size);
    return mark;
  }

  /**
   * Whether it ran out of memory in a batch no larger than batches that fitted on that device:
   * again and again before its first failure (the mark's `fitted` size: not its `proven` one,
   * which a heavy page's failures a few dozen batches before hold down, and so missed the next
   * page), or once since (its largest success). Then it, or what a neighbour's cache held beside
   * it, took more than a batch of that size does, and what it took may stay in its worker's
   * cache. An item that only failed in batches larger than any that fitted failed for their size,
   * as every item of a run's first, oversized batches does: its worker's cache holds no more than
   * a batch of the size learned (on an H100, asking each such batch's worker to empty its cache
   * kept the other worker of the card idle for 13 s and made each batch 6 times slower).
   */
  get failedWhereBatchesFit(): boolean {
    for (const [limit, smallest] of this.smallestFailures) {
      const mark = this.marks.get(limit)!;
      if (smallest <= mark.fitted || smallest < mark.largestOkSince) return true;
    }
    return false;
  }

  /** Found to be the cause of an out-of-memory. */
  get isBlamed(): boolean {
    return this.blamed;
  }

  /**
   * The limits it lowered, each with a target that has it, its mark, and `unproven` and
   * `smallest` as in {@link lowered}; forgotten, so a limit is taken back once. `blamed`: it was
   * found to be the cause (else it fitted in a smaller batch).
   */
  takeLowered(blamed: boolean): { target: DispatchTarget; mark: LimitMark; unproven: number; smallest: number }[] {
    this.blamed ||= blamed;
    const taken = [...this.lowered].map(([limit, { target, unproven, smallest }]) => ({ target, mark: this.marks.get(limit)!, unproven, smallest }));
    this.lowered.clear();
    return taken;
  }
}
