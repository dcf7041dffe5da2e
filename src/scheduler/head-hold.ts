import type { DispatchTarget } from './dispatch-target.js';
import type { WorkItem } from './work-item.js';

/**
 * The targets that drain for the item first in line when it must run alone: on a worker to
 * itself (isolated: its crash would take its neighbours along) or with its device whole
 * (`needsDevice`: out of memory beside the other workers there). Only these wait for it; every
 * other target takes the work behind it. Were all to wait, every device would pause until one
 * drained: with LLM batches of tens of seconds, that is a card-minute per device for each try.
 */
export class HeadHold {
  private constructor(
    readonly item: WorkItem,
    private readonly targets: ReadonlySet<DispatchTarget>,
  ) {}

  /**
   * Chooses, among `candidates` (targets taking work and not already running an item alone),
   * the one with the fewest batches in flight, with the targets sharing its device when the item
   * needs the device whole (all of them candidates): likely the first to be free. The choice
   * stands until the item leaves the head of the line or a target held stops taking work. None
   * when no target or device qualifies: then every target waits, as before there were holds.
   */
  static choose(item: WorkItem, candidates: readonly DispatchTarget[], sharing: (t: DispatchTarget) => DispatchTarget[]): HeadHold | undefined {
    let best: DispatchTarget[] | undefined;
    let bestLoad = Infinity;
    for (const t of candidates) {
      const group = item.needsDevice ? [t, ...sharing(t)] : [t];
      if (group.some((g) => !candidates.includes(g))) continue;
      let load = 0;
      for (const g of group) load += g.inflightCount;
      if (load < bestLoad) {
        best = group;
        bestLoad = load;
      }
    }
    return best === undefined ? undefined : new HeadHold(item, new Set(best));
  }

  /** Whether `target` is one of those draining for the item. */
  holds(target: DispatchTarget): boolean {
    return this.targets.has(target);
  }

  /** Still the right hold for `head`: the same item, and every target held is still there and taking work. */
  stillFor(head: WorkItem, targets: readonly DispatchTarget[]): boolean {
    if (head !== this.item) return false;
    for (const t of this.targets) if (!t.acceptsWork() || !targets.includes(t)) return false;
    return true;
  }
}
