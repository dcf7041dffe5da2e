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
    if (size > mark.proven) entry.unproven = Math.min(entry.unproven, size);
    return mark;
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
