/**
 * A growable bitset over item sequence numbers: one bit per seq, so 10,000,000 items cost
 * 1.25 MB where a JS `Set<number>` would cost hundreds. Seqs are integers in
 * `[0, MAX_SEQ]`; memory grows with the highest seq added, not with the count.
 */

import { ctz32, forEachRun, popcount32 } from './bit-runs.js';

/** The highest seq a {@link SeqSet} holds (2^32 − 2, so that `seq + 1` still fits 32 bits). */
export const MAX_SEQ = 0xffff_fffe;

const EMPTY = new Uint32Array(0);

/** Whether `seq` is an integer in `[0, MAX_SEQ]`. */
export function isSeq(seq: number): boolean {
  return seq >>> 0 === seq && seq <= MAX_SEQ;
}

export class SeqSet {
  #words: Uint32Array = EMPTY;
  #size = 0;

  /** `capacity` pre-sizes the set for seqs below it; it grows by itself past that. */
  constructor(capacity = 0) {
    if (capacity > 0) this.#words = new Uint32Array(Math.ceil(capacity / 32));
  }

  /** The number of seqs in the set. */
  get size(): number {
    return this.#size;
  }

  /** Bytes of memory the bits occupy. */
  get byteLength(): number {
    return this.#words.byteLength;
  }

  has(seq: number): boolean {
    if (seq >>> 0 !== seq) return false;
    const w = seq >>> 5;
    return w < this.#words.length && (this.#words[w] & (1 << (seq & 31))) !== 0;
  }

  /** Adds `seq`; returns whether it was absent. Throws a `RangeError` for a non-seq. */
  add(seq: number): boolean {
    assertSeq(seq);
    const w = seq >>> 5;
    if (w >= this.#words.length) this.#grow(w + 1);
    const bit = 1 << (seq & 31);
    const word = this.#words[w];
    if ((word & bit) !== 0) return false;
    this.#words[w] = word | bit;
    this.#size++;
    return true;
  }

  /** Adds every seq in `[start, end)`; returns how many were absent. */
  addRange(start: number, end: number): number {
    if (end <= start) return 0;
    const last = end - 1;
    const words = this.#wordsFor(start, last);
    let added = 0;
    for (let w = start >>> 5; w <= last >>> 5; w++) {
      const before = words[w];
      const after = (before | rangeMask(w, start, last)) >>> 0;
      if (after !== before) {
        added += popcount32(after ^ before);
        words[w] = after;
      }
    }
    this.#size += added;
    return added;
  }

  /**
   * Adds every seq in `[start, end)` and writes those that were absent into `out` from `at`,
   * ascending; returns the position after them. A journal commit's done seqs are mostly runs
   * (spans): this is a few operations per 32 seqs, where `add` is a check and a store per seq.
   */
  addRangeCollect(start: number, end: number, out: Uint32Array, at: number): number {
    if (end <= start) return at;
    const last = end - 1;
    const words = this.#wordsFor(start, last);
    let k = at;
    for (let w = start >>> 5; w <= last >>> 5; w++) {
      const mask = rangeMask(w, start, last);
      const before = words[w];
      const fresh = (mask & ~before) >>> 0;
      if (fresh === 0) continue;
      words[w] = (before | mask) >>> 0;
      const base = w * 32;
      if (fresh === mask) {
        for (let b = ctz32(mask), hi = 31 - Math.clz32(mask); b <= hi; b++) out[k++] = base + b;
      } else {
        for (let bits = fresh; bits !== 0; bits &= bits - 1) out[k++] = base + ctz32(bits);
      }
    }
    this.#size += k - at;
    return k;
  }

  /** The words, grown to hold `last`, once `start` and `last` are checked to be seqs. */
  #wordsFor(start: number, last: number): Uint32Array {
    assertSeq(start);
    assertSeq(last);
    if (last >>> 5 >= this.#words.length) this.#grow((last >>> 5) + 1);
    return this.#words;
  }

  /** Removes `seq`; returns whether it was present. */
  delete(seq: number): boolean {
    if (!this.has(seq)) return false;
    this.#words[seq >>> 5] &= ~(1 << (seq & 31));
    this.#size--;
    return true;
  }

  clear(): void {
    this.#words = EMPTY;
    this.#size = 0;
  }

  clone(): SeqSet {
    const copy = new SeqSet();
    copy.#words = this.#words.slice(0, this.#usedWords());
    copy.#size = this.#size;
    return copy;
  }

  /** The smallest seq ≥ `from` that is not in the set (the next one still to do). */
  nextAbsent(from = 0): number {
    assertSeq(from);
    const words = this.#words;
    let w = from >>> 5;
    if (w >= words.length) return from;
    let free = ~words[w] & (0xffff_ffff << (from & 31));
    while (free === 0) {
      if (++w >= words.length) return Math.min(w * 32, MAX_SEQ + 1);
      free = ~words[w];
    }
    return w * 32 + ctz32(free);
  }

  /** The smallest seq ≥ `from` in the set, or -1. */
  nextPresent(from = 0): number {
    const words = this.#words;
    let w = from >>> 5;
    if (from < 0 || w >= words.length) return -1;
    let bits = words[w] & (0xffff_ffff << (from & 31));
    while (bits === 0) {
      if (++w >= words.length) return -1;
      bits = words[w];
    }
    return w * 32 + ctz32(bits);
  }

  /** The largest seq in the set, or -1. */
  last(): number {
    const n = this.#usedWords();
    return n === 0 ? -1 : (n - 1) * 32 + 31 - Math.clz32(this.#words[n - 1]);
  }

  /** Every seq, ascending. */
  *values(): IterableIterator<number> {
    for (const [start, end] of this.runs()) for (let s = start; s < end; s++) yield s;
  }

  [Symbol.iterator](): IterableIterator<number> {
    return this.values();
  }

  /** Maximal runs of consecutive seqs as `[start, end)` pairs, ascending. */
  *runs(): IterableIterator<[number, number]> {
    const words = this.#words;
    const n = this.#usedWords();
    let start = -1;
    for (let w = 0; w < n; w++) {
      const word = words[w];
      // Whole words of 0s or 1s are the common case; skip them without looking at bits.
      if (word === 0) {
        if (start >= 0) { yield [start, w * 32]; start = -1; }
        continue;
      }
      if (word === 0xffff_ffff) {
        if (start < 0) start = w * 32;
        continue;
      }
      for (let b = 0; b < 32; b++) {
        const set = (word & (1 << b)) !== 0;
        if (set && start < 0) start = w * 32 + b;
        else if (!set && start >= 0) { yield [start, w * 32 + b]; start = -1; }
      }
    }
    if (start >= 0) yield [start, n * 32];
  }

  /** Calls `fn(start, end)` for each run, ascending; stops when `fn` returns false. */
  forEachRun(fn: (start: number, end: number) => boolean | void): void {
    forEachRun(this.#words, this.#usedWords(), 0, fn);
  }

  /**
   * The bits as bytes, little-endian bit order (seq `s` is bit `s & 7` of byte `s >> 3`),
   * trimmed after the highest set bit's word. {@link SeqSet.fromBuffer} reads it back.
   */
  toBuffer(): Buffer {
    const n = this.#usedWords();
    const out = Buffer.alloc(n * 4);
    for (let w = 0; w < n; w++) out.writeUInt32LE(this.#words[w], w * 4);
    return out;
  }

  static fromBuffer(bytes: Uint8Array): SeqSet {
    const set = new SeqSet();
    const n = Math.ceil(bytes.length / 4);
    const words = new Uint32Array(n);
    let size = 0;
    for (let w = 0; w < n; w++) {
      const i = w * 4;
      const word = ((bytes[i] ?? 0) | ((bytes[i + 1] ?? 0) << 8) | ((bytes[i + 2] ?? 0) << 16) | ((bytes[i + 3] ?? 0) << 24)) >>> 0;
      words[w] = word;
      size += popcount32(word);
    }
    set.#words = words;
    set.#size = size;
    return set;
  }

  #usedWords(): number {
    let n = this.#words.length;
    while (n > 0 && this.#words[n - 1] === 0) n--;
    return n;
  }

  #grow(minWords: number): void {
    const next = new Uint32Array(Math.max(minWords, Math.min(this.#words.length * 2, 0x0800_0000), 32));
    next.set(this.#words);
    this.#words = next;
  }
}

function assertSeq(seq: number): void {
  if (!isSeq(seq)) throw new RangeError(`seq must be an integer in [0, ${MAX_SEQ}], got ${String(seq)}`);
}

/** The bits of word `w` that hold seqs in `[start, last]`. */
function rangeMask(w: number, start: number, last: number): number {
  const lo = w === start >>> 5 ? start & 31 : 0;
  const hi = w === last >>> 5 ? last & 31 : 31;
  return hi - lo === 31 ? 0xffff_ffff : (((1 << (hi - lo + 1)) - 1) << lo) >>> 0;
}
