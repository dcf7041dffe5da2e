/**
 * Writing output lines straight into a byte buffer, for the span path of {@link JsonlSink}: a
 * line built as a string first (a template per item, then a concatenation of the span's lines)
 * was about half of the bytes `gpupool run` allocated per item, garbage that V8's scavenges
 * then copy and promote. These loops allocate nothing. The caller makes room first
 * ({@link lineRoom}).
 */

/** The bytes of an ASCII constant, for {@link putAscii}. */
export function asciiBytes(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

/**
 * `{"id":` and `}\n`, the two ends of every output line, as stores of their own: written this
 * way they cost a third less per line than through {@link putAscii}'s loop (a span's line took
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

export function putLineEnd(buf: Uint8Array, pos: number): number {
  buf[pos] = 0x7d; // }
  buf[pos + 1] = 0x0a; // newline
  return pos + 2;
}

/** Copies `bytes` to `buf` at `pos`; returns the position after them. */
export function putAscii(buf: Uint8Array, pos: number, bytes: Uint8Array): number {
  for (let k = 0; k < bytes.length; k++) buf[pos + k] = bytes[k];
  return pos + bytes.length;
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

/** Below this many UTF-16 units a JS loop copies a text faster than a call into `Buffer.write`. */
const SHORT_TEXT = 24;

/**
 * Writes `text` as UTF-8 at `pos`; returns the position after it. A short ASCII text (compact
 * JSON from the SDKs is ASCII, as they escape the rest) is copied by this loop, which costs less
 * than the call into C++ that `Buffer.write` is (about 70 ns on the 2-core VM, where the loop
 * takes about 2.5 ns a character); a longer one, or one with a character beyond ASCII, goes to
 * `Buffer.write`.
 */
export function putText(buf: Buffer, pos: number, text: string): number {
  const n = text.length;
  if (n >= SHORT_TEXT) return pos + buf.write(text, pos, 'utf8');
  for (let k = 0; k < n; k++) {
    const c = text.charCodeAt(k);
    if (c >= 0x80) return pos + buf.write(text, pos, 'utf8');
    buf[pos + k] = c;
  }
  return pos + n;
}

/**
 * Bytes `text` can take in UTF-8: 3 per UTF-16 unit of a short text (UTF-8's worst case; a
 * surrogate pair takes 4 for 2 units); a long text is measured instead, so one 100 MB output
 * does not reserve 300 MB.
 */
export function utf8Room(text: string): number {
  return text.length <= 65536 ? 3 * text.length : Buffer.byteLength(text, 'utf8');
}

/** Bytes an output line can need around `text`: {@link utf8Room}, and 48 for the rest of the line. */
export function lineRoom(text: string): number {
  return 48 + utf8Room(text);
}
