/** Batches remembered per worker: enough for a steady median, few enough to follow a change of input. */
const WINDOW = 32;
/** Batches of a size near the limit's known before any is called heavy: a median of fewer is noise. */
const MIN_SEEN = 8;
/** How far above a full batch's usual memory a batch must go to be heavy: item sizes vary this much without a page. */
const HEAVY_FACTOR = 1.5;
/** Batches within this factor of the limit's size are its peers: their memory per item is the limit's. */
const PEER_RATIO = 1.5;

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
  /** The last {@link WINDOW} batches' sizes and bytes per item, a ring. */
  private readonly batches: { size: number; perItem: number }[] = [];
  private next = 0;

  /**
   * Whether a batch of `size` items that took `bytes` took more than {@link HEAVY_FACTOR} times
   * what a batch of `limit` items (the size its device's workers run now) usually takes: the
   * median per item of the remembered batches of about that size ({@link PEER_RATIO}), once
   * {@link MIN_SEEN} are known. Only peers: a batch has a fixed cost beside its items', so
   * batches of 64 taken per item underrate one of 4, and every batch just after an out-of-memory
   * halved the limit would look heavy. A batch at the limit with items of the usual size is
   * never heavy, whatever the limit grows to.
   */
  heavy(bytes: number, size: number, limit: number): boolean {
    const peers: number[] = [];
    for (const b of this.batches) if (b.size * PEER_RATIO >= limit && b.size <= limit * PEER_RATIO) peers.push(b.perItem);
    if (peers.length < MIN_SEEN) return false;
    const usual = median(peers);
    // A usual of 0 (batches that allocate nothing new) gives no scale to be far above.
    return usual > 0 && bytes > HEAVY_FACTOR * usual * Math.max(limit, size);
  }

  /** Remembers a batch of `size` items that took `bytes`. */
  record(bytes: number, size: number): void {
    const entry = { size, perItem: bytes / Math.max(1, size) };
    if (this.batches.length < WINDOW) this.batches.push(entry);
    else this.batches[this.next] = entry;
    this.next = (this.next + 1) % WINDOW;
  }
}

function median(values: number[]): number {
  values.sort((a, b) => a - b);
  const mid = values.length >> 1;
  return values.length % 2 === 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}
