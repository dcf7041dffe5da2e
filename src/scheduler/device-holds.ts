import type { DispatchTarget } from './dispatch-target.js';

/**
 * Which targets take nothing new for the sake of their device's memory, and why. Targets with a
 * device in common (several workers of a model on one card, or models split over cards) share
 * its memory: an item may need a worker to itself (isolated) or the device whole, and a worker's
 * cache may have to be given back (`release`) before the others' batches fit beside it.
 */
export class DeviceHolds {
  /** Targets running an item alone, or held idle beside one that has the device whole. */
  private readonly exclusive = new Set<DispatchTarget>();
  /** A target running an item that needs its device whole, with the targets sharing it, held idle until it is answered. */
  private readonly deviceHolds = new Map<DispatchTarget, DispatchTarget[]>();
  /** Targets that take nothing new while targets on their device give back what they cache, with how many such releases they wait for. */
  private readonly releaseWaits = new Map<DispatchTarget, number>();

  /** `targets`: the scheduler's own list, as it changes; `pump`: called when a held target may take work again. */
  constructor(
    private readonly targets: readonly DispatchTarget[],
    private readonly pump: () => void,
  ) {}

  /** The other targets with a device in common with `target`. */
  sharing(target: DispatchTarget): DispatchTarget[] {
    const keys = target.deviceKeys ?? [target.deviceKey];
    return this.targets.filter((t) => t !== target && (t.deviceKeys ?? [t.deviceKey]).some((k) => keys.includes(k)));
  }

  /** Whether `target` may be sent a batch now, as far as its device's memory goes. */
  takesWork(target: DispatchTarget): boolean {
    return !this.exclusive.has(target) && !this.releaseWaits.has(target);
  }

  /** Whether `target` runs an item alone, or is held beside one that has its device whole. */
  isExclusive(target: DispatchTarget): boolean {
    return this.exclusive.has(target);
  }

  /** `target` is about to run an item alone (its crash must take no neighbour along). */
  claimAlone(target: DispatchTarget): void {
    this.exclusive.add(target);
  }

  /**
   * Claims `target`'s device whole when it and every target sharing it are idle: they are held
   * (nothing else is sent to them) until {@link endExclusive}. Returns the targets sharing it, or
   * undefined when one still runs something.
   */
  claimDevice(target: DispatchTarget): DispatchTarget[] | undefined {
    const others = this.sharing(target);
    if (target.inflightCount > 0 || others.some((t) => t.inflightCount > 0 || this.exclusive.has(t))) return undefined;
    for (const t of [target, ...others]) this.exclusive.add(t);
    this.deviceHolds.set(target, others);
    return others;
  }

  /**
   * `target`'s batch was answered or lost: it takes work again. After an item that had the device
   * whole, `target` first gives back what the item left in its cache, or the batches of the
   * targets held for it would run out of memory beside it, and teach their limits a size that
   * fits only while it is cached; then they all take work again. Returns whether it asked that.
   */
  endExclusive(target: DispatchTarget): boolean {
    const held = this.deviceHolds.get(target);
    if (held === undefined) {
      this.exclusive.delete(target);
      return false;
    }
    this.deviceHolds.delete(target);
    void (target.releaseMemory?.() ?? Promise.resolve()).then(() => {
      for (const t of [target, ...held]) this.exclusive.delete(t);
      this.pump();
    });
    return true;
  }

  /**
   * `target` empties its cache; neither it nor the targets sharing its device take anything new
   * until it has. Held beside a worker still fed, a neighbour waited for as long as that worker's
   * batches kept asking for releases (on an H100: 13 s, while the other ran alone).
   */
  holdWhileReleasing(target: DispatchTarget): void {
    if (target.releaseMemory === undefined) return;
    const others = this.sharing(target);
    if (others.length > 0) this.releaseHolding([target], [target, ...others]);
  }

  /**
   * `target`'s batch ran out of memory for its size and lowered the limit its device's workers
   * share: the others still cache what their batches took at the old size, beside which the new
   * size runs out of memory too (and the limit halves again, and again). They empty their caches
   * (after what they hold already, which ran at the old size), and none of the device's workers
   * takes anything new until they have.
   */
  releaseBeside(target: DispatchTarget): void {
    const others = this.sharing(target);
    const releasing = others.filter((t) => t.releaseMemory !== undefined);
    if (releasing.length > 0) this.releaseHolding(releasing, [target, ...others]);
  }

  /**
   * The limit `target` shares with the other workers of its device grew: each of them, `target`
   * too, is asked to empty its cache before its first batch of the new size (the request goes
   * behind the batches it holds, sent at the old size). PyTorch keeps the old size's blocks
   * cached beside the new size's: a worker's own out-of-memory frees them, a neighbour's does not.
   * On an H100 two workers stopped growing at 30 where 43 fitted: a 31-item batch failed beside
   * a neighbour caching its 27- and 31-item blocks. Nothing waits for it.
   */
  trimOnGrowth(target: DispatchTarget): void {
    const others = this.sharing(target);
    if (others.length === 0) return;
    for (const t of [target, ...others]) void t.releaseMemory?.(false);
  }

  /** `releasing` empty their caches; `held` take nothing new until all have (a failed release counts as done). */
  private releaseHolding(releasing: readonly DispatchTarget[], held: readonly DispatchTarget[]): void {
    for (const t of held) this.releaseWaits.set(t, (this.releaseWaits.get(t) ?? 0) + 1);
    const given = () => {
      for (const t of held) {
        const n = (this.releaseWaits.get(t) ?? 1) - 1;
        if (n > 0) this.releaseWaits.set(t, n);
        else this.releaseWaits.delete(t);
      }
      this.pump();
    };
    void Promise.all(releasing.map((t) => t.releaseMemory!().catch(() => undefined))).then(given);
  }
}
