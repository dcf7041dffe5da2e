/**
 * Writing output lines straight into a byte buffer, for the span path of {@link JsonlSink}: a
 * line built as a string first (a template per item, then a concatenation of the span's lines)
 * was about half of the bytes `gpupool run` allocated per item, garbage that V8's scavenges
 * then copy and promote. These loops allocate nothing. The caller makes room first.
 */
import type { OutputTexts } from '../protocol/index.js';

/** Bytes of an output line besides the output: `{"id":`, up to 17 digits, `,"output":`, `}` and the newline. */
export const LINE_ROOM = 48;

/**
 * `{"id":` and `}\n`, the two ends of every output line, as stores of their own: written this
 * way they cost a third less per line than through a loop over their bytes (a span's line took
 * 25 ns instead of 33 ns on the 2-core VM).
 */
export function putLineStart(buf: Uint8Array, pos: number): number {
  buf[pos] = 0x7b; // {
  buf[pos + 1] = 0x22; // "
  buf[pos + 2] = 0x69; // i
  buf[pos + 3] = 0x64; // d
  buf[pos + 4] = 0x22; // "
  buf[pos + 5] = 0x3a; // :
  return pos + 6;
}

/**
 * `,"output":`, between a line's id and its output, as stores of its own (as {@link putLineStart}):
 * with the span's room made once instead of per line, a span's line took 31–32 ns instead of
 * 41–42 ns on the 2-core VM, and 41–51 instead of 60–80 in a slower hour
 * (`bench/results/run/sink-lines-2026-12-06/`).
 */
export function putOutputKey(buf: Uint8Array, pos: number): number {
  buf[pos] = 0x2c; // ,
  buf[pos + 1] = 0x22; // "
  buf[pos + 2] = 0x6f; // o
  buf[pos + 3] = 0x75; // u
  buf[pos + 4] = 0x74; // t
  buf[pos + 5] = 0x70; // p
  buf[pos + 6] = 0x75; // u
  buf[pos + 7] = 0x74; // t
  buf[pos + 8] = 0x22; // "
  buf[pos + 9] = 0x3a; // :
  return pos + 10;
}

export function putLineEnd(buf: Uint8Array, pos: number): number {
  buf[pos] = 0x7d; // }
  buf[pos + 1] = 0x0a; // newline
  return pos + 2;
}

/**
 * The decimal digits of a counter that goes up by one: a span's ids are consecutive, so each
 * line's id is the last one's digits with a carry, not a division per digit.
 */
export class DecimalCounter {
  /** The digits, most significant first, in the first `length` bytes (2^53 has 16). */
  private readonly digits = new Uint8Array(17);
  private length = 1;

  /**
   * Starts the counter at `value`, a safe integer ≥ 0 (ids are line numbers, at most 2^32, 10
   * digits; 17 places leave room for any safe integer and its last carry).
   */
  set(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`DecimalCounter: ${value} is not a safe integer ≥ 0`);
    let n = 1;
    for (let p = 10; p <= value; p *= 10) n++;
    let v = value;
    for (let k = n - 1; k >= 0; k--) {
      const q = Math.floor(v / 10);
      this.digits[k] = 0x30 + (v - q * 10);
      v = q;
    }
    this.length = n;
  }

  /** Writes the current value at `pos`; returns the position after it. */
  put(buf: Uint8Array, pos: number): number {
    const { digits, length } = this;
    for (let k = 0; k < length; k++) buf[pos + k] = digits[k];
    return pos + length;
  }

  increment(): void {
    const digits = this.digits;
    let k = this.length - 1;
    while (k >= 0 && digits[k] === 0x39) digits[k--] = 0x30;
    if (k >= 0) {
      digits[k]++;
    } else {
      digits.copyWithin(1, 0, this.length); // 9…9 + 1: one more digit, a 1 in front of zeros
      digits[0] = 0x31;
      this.length++;
    }
  }
}

/**
 * The lines of a span of `n` outputs, `outputs[from…from + n)`, with ids counting up from
 * `firstId`, written at `pos` (room made first: `n` × {@link LINE_ROOM} plus the outputs' room);
 * returns the position after them. `JsonlSink` and the writer thread both make a span's lines
 * here, so the file's bytes are the same whichever thread makes them.
 */
export function putSpanLines(buf: Buffer, pos: number, ids: DecimalCounter, firstId: number, outputs: OutputTexts, from: number, n: number): number {
  ids.set(firstId);
  for (let j = 0; j < n; j++) {
    pos = putLineStart(buf, pos);
    pos = ids.put(buf, pos);
    ids.increment();
    pos = putOutputKey(buf, pos);
    pos = outputs.put(buf, pos, from + j);
    pos = putLineEnd(buf, pos);
  }
  return pos;
}
