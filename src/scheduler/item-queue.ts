const MIN_SLOTS = 16;

/**
 * A FIFO with O(1) push/shift and front insertion: a ring of slots whose size is a power of two
 * (shift() on a plain array is O(n), and this queue sees millions of items a minute).
 *
 * Every slot an item leaves is cleared, and so is every array the ring leaves behind when it
 * grows or shrinks. Why: the ring lives long, so V8 moves it to the old generation, and a dead
 * array there is not collected until the next full collection; until then a scavenge treats
 * whatever it still points to as live. Items it held would be promoted, and with them their
 * inputs, in a steady stream of old-generation garbage that makes host memory grow with the
 * length of a run.
 */
export class ItemQueue<T> {
  private slots: (T | undefined)[] = new Array<T | undefined>(MIN_SLOTS);
  private head = 0;
  private count = 0;

  get length(): number {
    return this.count;
  }

  push(item: T): void {
    if (this.count === this.slots.length) this.resize(this.slots.length * 2);
    this.slots[(this.head + this.count) & (this.slots.length - 1)] = item;
    this.count++;
  }

  /** Puts items back at the front, keeping their order (retries go first). */
  unshiftAll(items: readonly T[]): void {
    if (items.length === 0) return;
    let size = this.slots.length;
    while (size < this.count + items.length) size *= 2;
    if (size !== this.slots.length) this.resize(size);
    const mask = this.slots.length - 1;
    this.head = (this.head - items.length) & mask;
    for (let i = 0; i < items.length; i++) this.slots[(this.head + i) & mask] = items[i];
    this.count += items.length;
  }

  peek(): T | undefined {
    return this.count > 0 ? this.slots[this.head] : undefined;
  }

  /** The item `i` places from the front. */
  at(i: number): T | undefined {
    return i < this.count ? this.slots[(this.head + i) & (this.slots.length - 1)] : undefined;
  }

  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.slots[this.head];
    this.slots[this.head] = undefined;
    this.head = (this.head + 1) & (this.slots.length - 1);
    this.count--;
    // Memory follows what is queued, not the largest queue there ever was.
    if (this.slots.length > 1024 && this.count * 8 < this.slots.length) this.resize(this.slots.length / 4);
    return item;
  }

  drain(): T[] {
    const out = new Array<T>(this.count);
    for (let i = 0; i < out.length; i++) out[i] = this.shift()!;
    this.resize(MIN_SLOTS);
    return out;
  }

  /** Moves the items, in order, to a ring of `size` slots (a power of two ≥ count). */
  private resize(size: number): void {
    const old = this.slots;
    const mask = old.length - 1;
    const slots = new Array<T | undefined>(size);
    for (let i = 0; i < this.count; i++) slots[i] = old[(this.head + i) & mask];
    old.fill(undefined); // see the class comment: a dead array must not keep items alive
    this.slots = slots;
    this.head = 0;
  }
}
