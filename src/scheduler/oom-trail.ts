import type { LimitMark } from './adaptive-batch-limit.js';
import type { DispatchTarget } from './dispatch-target.js';

/**
 * What one item's out-of-memory failures have done to the batch limits. From its first, a mark
 * on every target: what each limit knew then (where it goes back if the item turns out to be
 * the cause) and, as the mark is watched, the largest batch that succeeded there since. A
 * bisection moves between workers: a batch that fails on a worker where the item had not failed
 * before, smaller than one that worked there since, is that item's too.
 */
export class OomTrail {
  private readonly marks: Map<DispatchTarget, LimitMark>;
  /** Targets whose limit its failures lowered (or may have), not yet taken back. */
  private readonly lowered = new Set<DispatchTarget>();

  constructor(startMarks: ReadonlyMap<DispatchTarget, LimitMark>) {
    this.marks = new Map(startMarks);
  }

  /** It failed on `target`: returns that target's mark (made now for a target added since its first failure). */
  failedOn(target: DispatchTarget): LimitMark {
    let mark = this.marks.get(target);
    if (mark === undefined) this.marks.set(target, (mark = target.limit.mark()));
    this.lowered.add(target);
    return mark;
  }

  /** Its mark on `target`, if the item had failed by the time `target` was added. */
  markOn(target: DispatchTarget): LimitMark | undefined {
    return this.marks.get(target);
  }

  /** Found to be the cause ({@link takeLowered} was called): a limit lowered for it since goes back at once. */
  private blamed = false;

  /**
   * A batch of `target`, sharing the device with a batch that held this item, ran out of memory
   * and lowered `target`'s limit: that halving may be this item's too. Returns `target`'s mark
   * when the item was already found to be the cause (the limit goes back now); otherwise it goes
   * back with the others if it ever is.
   */
  neighbourFailed(target: DispatchTarget): LimitMark | undefined {
    const mark = this.marks.get(target);
    if (mark === undefined) return undefined;
    if (this.blamed) return mark;
    this.lowered.add(target);
    return undefined;
  }

  /**
   * `target`'s limit was halved for a neighbour's out-of-memory on a batch holding this item
   * ({@link ModelScheduler.rebalance}): it goes back with the others if the item is found to be the cause.
   */
  yieldedFor(target: DispatchTarget): void {
    if (this.marks.has(target)) this.lowered.add(target);
  }

  /** Found to be the cause of an out-of-memory. */
  get isBlamed(): boolean {
    return this.blamed;
  }

  /** The targets it lowered, with their marks; forgotten, so a limit is taken back once. */
  takeLowered(): [DispatchTarget, LimitMark][] {
    this.blamed = true;
    const taken = [...this.lowered].map((t): [DispatchTarget, LimitMark] => [t, this.marks.get(t)!]);
    this.lowered.clear();
    return taken;
  }
}
