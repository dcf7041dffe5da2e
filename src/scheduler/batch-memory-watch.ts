/** Batches remembered per worker: enough for a steady median, few enough to follow a change of input. */
const WINDOW = 32;
/** Batches seen before any is called heavy: a median of fewer is noise. */
const MIN_SEEN = 8;
/** How far above a full batch's usual memory a batch must go to be heavy: item sizes vary this much without a page. */
const HEAVY_FACTOR = 1.5;

/**
 * What one worker's batches take of device memory (`batch_memory` in its answers: the peak above
 * what was allocated before the batch), to tell a batch far heavier than its usual: a page among
 * small items. PyTorch keeps such a batch's blocks cached after it, where the batches of the
 * workers sharing its device run out of memory beside them, and, where no item of it failed
 * before, nothing else asks the worker to give them back (a page every 50 items on a shared
 * card: every page beside the other worker's cached page failed at any size, and the limit
 * stayed at 1).
 */
export class BatchMemoryWatch {
  /** Bytes per item of the last {@link WINDOW} batches, a ring. */
  private readonly perItem: number[] = [];
  private next = 0;

  /**
   * Whether a batch of `size` items that took `bytes` took more than {@link HEAVY_FACTOR} times
   * what a batch of `limit` items (the size its device's workers run now) usually takes, once
   * {@link MIN_SEEN} batches are known. A batch at the limit with items of the usual size is never
   * heavy, whatever the limit grows to.
   */
  heavy(bytes: number, size: number, limit: number): boolean {
    const usual = this.perItem.length >= MIN_SEEN ? median(this.perItem) : 0;
    // A usual of 0 (batches that allocate nothing new) gives no scale to be far above.
    return usual > 0 && bytes > HEAVY_FACTOR * usual * Math.max(limit, size);
  }

  /** Remembers a batch of `size` items that took `bytes`. */
  record(bytes: number, size: number): void {
    const perItem = bytes / Math.max(1, size);
    if (this.perItem.length < WINDOW) this.perItem.push(perItem);
    else this.perItem[this.next] = perItem;
    this.next = (this.next + 1) % WINDOW;
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
