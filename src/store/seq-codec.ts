/**
 * The on-disk encoding of a set of done seqs (one blob per committed group, folded into one
 * blob from time to time). Completion order is nearly input order, so a group of 4,096 seqs
 * is a handful of runs: a few bytes, where a row per item costs ~10 bytes each.
 *
 *   RUNS   = 0x01, then until the end: varint gap (start − previous run's end), varint length − 1
 *   BITMAP = 0x02, varint firstWord, then the bits of words firstWord… as little-endian bytes
 *
 * The encoder picks whichever is smaller, so a blob never costs much more than 1 bit per
 * seq of its span, however scattered the seqs.
 */
import { forEachRun } from './bit-runs.js';
import type { SeqSet } from './seq-set.js';

const RUNS = 0x01;
const BITMAP = 0x02;

/** Thrown when a blob does not decode; the journal reports it as GPUPOOL_E_JOURNAL_CORRUPT. */
export class SeqCodecError extends Error {
  override readonly name = 'SeqCodecError';
}

/**
 * Encodes seqs given in any order (duplicates allowed). A group that spans few words is
 * marked into a scratch bitmap and scanned run by run: no sort, linear in the group.
 */
export function encodeSeqs(seqs: ArrayLike<number>): Buffer {
  const n = seqs.length;
  if (n === 0) return Buffer.from([RUNS]);
  let min = seqs[0];
  let max = min;
  for (let i = 1; i < n; i++) {
    const s = seqs[i];
    if (s < min) min = s;
    else if (s > max) max = s;
  }
  const firstWord = min >>> 5;
  const spanWords = (max >>> 5) - firstWord + 1;
  if (spanWords > 4 * n + 64) {
    // Sparse (a random completion order): sorting is cheaper than a bitmap of the span.
    const sorted = Uint32Array.from(seqs).sort();
    return encodeSorted(sorted);
  }
  const words = new Uint32Array(spanWords);
  const base = firstWord * 32;
  for (let i = 0; i < n; i++) {
    const rel = seqs[i] - base;
    words[rel >>> 5] |= 1 << (rel & 31);
  }
  return encodeWords(words, spanWords, firstWord);
}

/** Where a runs encoding starts: a set done in order is one run, a few bytes. */
const RUNS_START_BYTES = 64;

/** Encodes a whole set (the folded form of many groups). */
export function encodeSeqSet(set: SeqSet): Buffer {
  const first = set.nextPresent(0);
  if (first < 0) return Buffer.from([RUNS]);
  const firstWord = first >>> 5;
  const bitmapBytes = 1 + 5 + ((set.last() >>> 5) - firstWord + 1) * 4;
  const out = new ByteWriter(bitmapBytes, RUNS_START_BYTES);
  out.byte(RUNS);
  let prevEnd = 0;
  let fits = true;
  set.forEachRun((start, end) => {
    fits = out.varint(start - prevEnd) && out.varint(end - start - 1);
    prevEnd = end;
    return fits;
  });
  if (fits) return out.done();
  const bitmap = new ByteWriter(bitmapBytes);
  bitmap.byte(BITMAP);
  bitmap.varint(firstWord);
  bitmap.bytes(set.toBuffer().subarray(firstWord * 4));
  return bitmap.done();
}

/** Runs when they are smaller than the bitmap of `words` (bit 0 of words[0] = seq firstWord·32). */
function encodeWords(words: Uint32Array, wordCount: number, firstWord: number): Buffer {
  const bitmapBytes = 1 + 5 + wordCount * 4;
  const out = new ByteWriter(bitmapBytes, RUNS_START_BYTES);
  out.byte(RUNS);
  let prevEnd = 0;
  const fits = forEachRun(words, wordCount, firstWord * 32, (start, end) => {
    const ok = out.varint(start - prevEnd) && out.varint(end - start - 1);
    prevEnd = end;
    return ok;
  });
  if (fits) return out.done();
  const bitmap = new ByteWriter(bitmapBytes);
  bitmap.byte(BITMAP);
  bitmap.varint(firstWord);
  for (let w = 0; w < wordCount; w++) bitmap.uint32le(words[w]);
  return bitmap.done();
}

function encodeSorted(sorted: Uint32Array): Buffer {
  const n = sorted.length;
  const out = new ByteWriter(1 + n * 10);
  out.byte(RUNS);
  let prevEnd = 0;
  for (let i = 0; i < n; ) {
    const start = sorted[i];
    let j = i + 1;
    while (j < n && sorted[j] <= sorted[j - 1] + 1) j++;
    out.varint(start - prevEnd);
    out.varint(sorted[j - 1] - start);
    prevEnd = sorted[j - 1] + 1;
    i = j;
  }
  return out.done();
}

/** Adds the seqs of `blob` to `into`; returns how many were new. Throws {@link SeqCodecError}. */
export function decodeSeqsInto(blob: Uint8Array, into: SeqSet): number {
  try {
    return decode(blob, into);
  } catch (err) {
    if (err instanceof RangeError) throw new SeqCodecError(`seq blob holds a seq out of range: ${err.message}`);
    throw err;
  }
}

function decode(blob: Uint8Array, into: SeqSet): number {
  const r = new ByteReader(blob);
  const kind = r.byte();
  let added = 0;
  if (kind === RUNS) {
    let prevEnd = 0;
    while (!r.atEnd()) {
      const start = prevEnd + r.varint();
      const end = start + r.varint() + 1;
      added += into.addRange(start, end);
      prevEnd = end;
    }
  } else if (kind === BITMAP) {
    const base = r.varint() * 32;
    const bytes = r.rest();
    if (bytes.length % 4 !== 0) throw new SeqCodecError(`bitmap of ${bytes.length} bytes is not whole words`);
    const words = new Uint32Array(bytes.length / 4);
    for (let w = 0; w < words.length; w++) {
      words[w] = (bytes[w * 4] | (bytes[w * 4 + 1] << 8) | (bytes[w * 4 + 2] << 16) | (bytes[w * 4 + 3] << 24)) >>> 0;
    }
    forEachRun(words, words.length, base, (start, end) => {
      added += into.addRange(start, end);
    });
  } else {
    throw new SeqCodecError(`unknown seq blob kind ${kind}`);
  }
  return added;
}

/**
 * Bytes written up to `capacity`; `byte` says false past it. The buffer starts at `initial` and
 * doubles: the runs of a folded set are usually a few bytes, and a buffer the size of the whole
 * bitmap at each fold (1.25 MB at 10M items) made a long run's memory grow with its input.
 */
class ByteWriter {
  #buf: Buffer;
  #pos = 0;

  constructor(
    private readonly capacity: number,
    initial = capacity,
  ) {
    this.#buf = Buffer.allocUnsafe(Math.min(capacity, initial));
  }

  byte(b: number): boolean {
    if (this.#pos >= this.#buf.length && !this.#grow()) return false;
    this.#buf[this.#pos++] = b;
    return true;
  }

  #grow(): boolean {
    if (this.#buf.length >= this.capacity) return false;
    const bigger = Buffer.allocUnsafe(Math.min(this.capacity, this.#buf.length * 2));
    this.#buf.copy(bigger, 0, 0, this.#pos);
    this.#buf = bigger;
    return true;
  }

  varint(v: number): boolean {
    while (v >= 0x80) {
      if (!this.byte((v & 0x7f) | 0x80)) return false;
      v = Math.floor(v / 128);
    }
    return this.byte(v);
  }

  /** `bytes` and `uint32le` do not grow: only for a writer made at its full size (the bitmap). */
  bytes(b: Uint8Array): void {
    this.#buf.set(b, this.#pos);
    this.#pos += b.length;
  }

  uint32le(v: number): void {
    this.#buf.writeUInt32LE(v, this.#pos);
    this.#pos += 4;
  }

  done(): Buffer {
    return Buffer.from(this.#buf.subarray(0, this.#pos));
  }
}

class ByteReader {
  readonly #buf: Uint8Array;
  #pos = 0;

  constructor(buf: Uint8Array) {
    this.#buf = buf;
  }

  byte(): number {
    if (this.#pos >= this.#buf.length) throw new SeqCodecError('seq blob ends early');
    return this.#buf[this.#pos++];
  }

  varint(): number {
    let v = 0;
    let scale = 1;
    for (let i = 0; i < 5; i++) {
      const b = this.byte();
      v += (b & 0x7f) * scale;
      if (b < 0x80) return v;
      scale *= 128;
    }
    throw new SeqCodecError('varint longer than 5 bytes');
  }

  rest(): Uint8Array {
    const rest = this.#buf.subarray(this.#pos);
    this.#pos = this.#buf.length;
    return rest;
  }

  atEnd(): boolean {
    return this.#pos === this.#buf.length;
  }
}
