/**
 * The live batch limit of one (model, device), shared by the model's workers there (they share
 * its memory, so they learn one size): halves on out-of-memory, grows back slowly
 * after sustained success while the device has room, and never grows past the smallest size
 * known to fail until it has been stable for a long while (so it settles instead of
 * oscillating around the threshold).
 *
 * Only a failure of size teaches it anything. A batch of one that runs out of memory is that
 * item's problem (it is retried alone), and so, on a device with one worker of the model, is a
 * batch smaller than one that succeeded since its items first failed (the size fits, what it
 * holds does not; ModelScheduler.outOfMemory says why not where workers share it): the
 * halvings that led there are taken back ({@link AdaptiveBatchLimit.forgive}), so one item too
 * large to share the device never throttles the others, nor the next start (which begins at
 * the learned limit). Heavy items in batch after batch are not outliers: then the limit learns
 * what fits them.
 */
export interface AdaptiveBatchLimitOptions {
  /** `batch.max`: the ceiling. */
  readonly max: number;
  /** A learned limit from an earlier run. */
  readonly initial?: number;
  /** Successful batches in a row before one step up. @defaultValue 8 */
  readonly growAfter?: number;
  /**
   * Successful batches since the last failure of size (failures given back excepted: see
   * {@link LimitMark.failedForSizeAt}) before probing above the known-failing ceiling again. @defaultValue 2000
   */
  readonly forgetFailureAfter?: number;
}

/**
 * What the limit had learned before an out-of-memory (where {@link AdaptiveBatchLimit.forgive}
 * goes back to), and the largest batch that succeeded on it since: a batch that fails below that
 * size failed for what it holds, not for its size.
 */
export interface LimitMark {
  readonly current: number;
  readonly failedAt: number;
  readonly lastGood: number;
  readonly largestOkSince: number;
  /**
   * The largest size that had fitted again and again lately, and not failed: at least
   * {@link PROVEN_BY} of the last {@link RECENT_BATCHES} batches were that large or larger and
   * succeeded, and none of them failed for size at it or below. A failure at or below it was
   * news, a failure above it a probe.
   */
  readonly proven: number;
  /**
   * The largest size that had fitted again and again lately: {@link proven} with the failures of
   * size left out. A size failed once among the recent batches (a heavy page's bisection,
   * recorded as failures of size on a card that workers share) is not proven for
   * {@link RECENT_BATCHES} batches, but batches of it fitted all the same
   * (OomTrail.failedWhereBatchesFit).
   */
  readonly fitted: number;
  /**
   * The limit's count of successes at its last failure of size: where the long quiet that
   * forgets the ceiling ({@link AdaptiveBatchLimitOptions.forgetFailureAfter}) is counted from,
   * and goes back to when the failures since are taken back.
   */
  readonly failedForSizeAt: number;
}

/** A mark the limit still updates, with the count of successes when it was made. */
interface WatchedMark extends LimitMark {
  largestOkSince: number;
  readonly madeAt: number;
}

/**
 * Marks are watched for this many successful batches: far more than the bisection of one batch
 * takes (log2 of batch.max levels, a few batches each), few enough to cost nothing.
 */
const WATCH_SUCCESSES = 256;
const MAX_WATCHED = 32;

/**
 * The batches a mark's `proven` size is read from: a few dozen, so it follows a change of
 * tenants, and a failure of size stays in it for as long (a size that fails again and again is
 * not proven, however often it also fits).
 */
const RECENT_BATCHES = 64;
/** Successes of at least a size, among the recent batches, that prove it fits: a growth step's worth. */
const PROVEN_BY = 8;

/**
 * Successful batches of one worker between two bisections blamed on their items. One heavy
 * page in hundreds is an outlier, forgiven at the cost of the few failed batches that isolated
 * it (about 1.75 full batches' work); heavy items closer together are the workload (long texts
 * among short ones), and the limit learns the size that fits them rather than bisecting batch
 * after batch: more than about a tenth of the work would go on failed batches.
 */
const BLAME_ITEMS_EVERY = 16;

export class AdaptiveBatchLimit {
  readonly max: number;
  private current: number;
  /** Smallest batch size that ran out of memory; growth stops below it. */
  private failedAt = Infinity;
  /** The failed size forgotten at the last probe: approached one item at a time, so a probe costs one OOM. */
  private formerFailure = Infinity;
  private lastGood = 0;
  /** Successes since the last step up or failure of size: a step up takes {@link growAfter}. */
  private streak = 0;
  /** See {@link LimitMark.failedForSizeAt}. */
  private failedForSizeAt = 0;
  /** The count of successes when the ceiling was last forgotten. */
  private forgottenAt = -Infinity;
  private readonly growAfter: number;
  private readonly forgetFailureAfter: number;
  private successes = 0;
  private watched: WatchedMark[] = [];
  /** The mark of the last bisection whose failures were blamed on its items, and when it began. */
  private blamed?: LimitMark;
  private blamedAt = -Infinity;
  /** The last {@link RECENT_BATCHES} batches: the size of each success, minus the size of each failure of size. */
  private readonly recent = new Int32Array(RECENT_BATCHES);
  private recorded = 0;
  ooms = 0;

  constructor(options: AdaptiveBatchLimitOptions) {
    this.max = options.max;
    this.current = Math.max(1, Math.min(options.max, options.initial ?? options.max));
    this.growAfter = options.growAfter ?? 8;
    this.forgetFailureAfter = options.forgetFailureAfter ?? 2000;
  }

  get value(): number {
    return this.current;
  }

  /**
   * What it has learned now, to be given to {@link forgive} if the out-of-memory about to be
   * counted turns out to be one item's; its `largestOkSince` follows the successes after it.
   */
  mark(): LimitMark {
    const mark: WatchedMark = {
      current: this.current,
      failedAt: this.failedAt,
      lastGood: this.lastGood,
      largestOkSince: 0,
      madeAt: this.successes,
      failedForSizeAt: this.failedForSizeAt,
      ...this.recentSizes(),
    };
    if (this.watched.push(mark) > MAX_WATCHED) this.watched.shift();
    return mark;
  }

  /**
   * Whether a shared batch's out-of-memory may be blamed on its items: those of the bisection
   * that began at `mark` may (its later failures too), others only if no other bisection was
   * blamed in the last {@link BLAME_ITEMS_EVERY} successful batches.
   */
  mayBlameItems(mark: LimitMark): boolean {
    if (mark === this.blamed) return true;
    if (this.successes - this.blamedAt < BLAME_ITEMS_EVERY) return false;
    this.blamed = mark;
    this.blamedAt = this.successes;
    return true;
  }

  /**
   * A batch of `size` items failed for memory. Returns the new limit. A batch of one is counted
   * and nothing more: no smaller batch exists, so it says nothing about batch size, only that
   * this item does not fit (or that the device is full for now, which a lower limit cannot cure).
   * Nor does a batch its items are to blame for (`forItems`: a larger one succeeded since they
   * first failed): the size fits, what they hold does not.
   */
  onOutOfMemory(size: number, forItems = false): number {
    this.ooms++;
    if (size <= 1 || forItems) return this.current;
    this.record(-size);
    this.streak = 0;
    this.failedForSizeAt = this.successes;
    this.failedAt = Math.min(this.failedAt, size);
    // A size just above one that worked means the threshold lies in between: go back to
    // the good size rather than to half, which would waste a device's worth of throughput.
    const half = Math.max(1, Math.floor(size / 2));
    const back = this.lastGood > 0 && this.lastGood < size ? Math.max(half, this.lastGood) : half;
    this.current = Math.max(1, Math.min(this.current, back, size - 1 || 1));
    if (this.lastGood >= size) this.lastGood = 0; // that success was under other conditions
    return this.current;
  }

  /**
   * The out-of-memory failures since `mark` were one item's (now failed alone, or in a batch
   * smaller than one that succeeded since): it was in every batch that failed on the way down,
   * so they taught nothing about the others. Goes back to what was known at `mark`, keeping
   * any success learned since. A genuine out-of-memory of
   * another batch in between is forgotten too; it comes back at the next batch that large, as
   * a probe does (one failed batch, retried, no item lost).
   */
  forgive(mark: LimitMark): number {
    this.failedAt = Math.max(this.failedAt, mark.failedAt);
    this.quietSince(mark);
    this.lastGood = Math.max(this.lastGood, mark.lastGood);
    this.current = Math.min(this.max, Math.max(this.current, mark.current));
    return this.current;
  }

  /**
   * An item whose batches ran out of memory since `mark` has now fitted in a smaller batch: its
   * failures may have been its own (one page far larger than the rest) or the size's, which only
   * a probe can tell. A failure at a size that had fitted again and again just before
   * (`mark.proven`) is taken for the item's: the ceiling goes back to what it was, and the limit
   * grows back towards it as after any out-of-memory (its failures stay among the recent batches,
   * so if the size fails again, that failure is kept). A failure above that size (a growth probe,
   * a card newly shared) is the size's: `unproven` is the smallest such size the item failed at
   * (Infinity for none), and the ceiling goes back no further. Left alone, each heavy page
   * lowered the ceiling by one for good (5, 4, 3... on a card shared by two workers). Taking the
   * limit itself back at once, as {@link forgive} does, did worse on such a card (limits 3 or 4
   * where 5 fit, in 8 of 8 runs): the workers' caches had not yet been given back.
   * `smallest` is the smallest size the item failed at: a ceiling below it was lowered by another
   * batch's failure (the half of its batch that the item was not in), not the item's to give back.
   */
  forgiveCeiling(mark: LimitMark, unproven: number, smallest = 0): void {
    if (this.failedAt < smallest) return;
    this.failedAt = Math.max(this.failedAt, Math.min(mark.failedAt, unproven));
    // Failures taken back do not restart the quiet that forgets the ceiling: a heavy page every
    // few hundred batches kept a ceiling set beside a neighbour's stale cache at the start from
    // ever being forgotten (limits 4/4 or 3/3 to the end where 5 fit).
    if (this.failedAt >= mark.failedAt) this.quietSince(mark);
  }

  /**
   * The quiet goes back to `mark`'s, unless the ceiling was forgotten since its last failure of
   * size: a ceiling now is a failure's since then (a probe's, kept), and its quiet is counted
   * from there. (A mark made after a ceiling was forgotten but before the next failure goes back
   * to no ceiling, where the quiet counts for nothing.)
   */
  private quietSince(mark: LimitMark): void {
    if (mark.failedForSizeAt >= this.forgottenAt) this.failedForSizeAt = Math.min(this.failedForSizeAt, mark.failedForSizeAt);
  }

  /** A batch of `size` items succeeded; `roomToGrow` says the device has free memory above its reserve. */
  onSuccess(size: number, roomToGrow = true): number {
    if (size >= this.lastGood || size >= this.current) this.lastGood = Math.max(this.lastGood, size);
    this.streak++;
    this.record(size);
    this.successes++;
    if (this.watched.length > 0) this.watch(size);
    if (this.failedAt !== Infinity && this.successes - this.failedForSizeAt >= this.forgetFailureAfter) {
      this.formerFailure = this.failedAt;
      this.failedAt = Infinity; // conditions change (other tenants leave): probe again, slowly
      this.forgottenAt = this.successes;
      this.streak = 0;
    }
    if (size < this.current || !roomToGrow || this.streak < this.growAfter) return this.current;
    const ceiling = Math.min(this.max, this.failedAt - 1);
    if (this.current < ceiling) {
      const step = Math.max(1, Math.ceil(this.current / 8));
      let next = Math.min(ceiling, this.current + step);
      if (next >= this.formerFailure) next = Math.max(this.current + 1, Math.min(next, this.formerFailure));
      this.current = next;
      this.streak = 0;
    }
    return this.current;
  }

  private record(signedSize: number): void {
    this.recent[this.recorded++ % RECENT_BATCHES] = signedSize;
  }

  /** See {@link LimitMark.proven} and {@link LimitMark.fitted} (0 when no size is). Read only when a mark is made (an out-of-memory). */
  private recentSizes(): { proven: number; fitted: number } {
    const recent = this.recent.slice(0, Math.min(this.recorded, RECENT_BATCHES));
    let smallestFailure = Infinity;
    for (const x of recent) if (x < 0) smallestFailure = Math.min(smallestFailure, -x);
    const successes = recent.filter((x) => x > 0).sort().reverse();
    const fitted = successes.length < PROVEN_BY ? 0 : successes[PROVEN_BY - 1];
    return { proven: Math.min(fitted, smallestFailure - 1), fitted };
  }

  private watch(size: number): void {
    if (this.successes - this.watched[0].madeAt > WATCH_SUCCESSES) this.watched = this.watched.filter((m) => this.successes - m.madeAt <= WATCH_SUCCESSES);
    for (const mark of this.watched) if (size > mark.largestOkSince) mark.largestOkSince = size;
  }
}
