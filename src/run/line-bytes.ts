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

/** Copies `bytes` to `buf` at `pos`; returns the position after them. */
export function putAscii(buf: Uint8Array, pos: number, bytes: Uint8Array): number {
  for (let k = 0; k < bytes.length; k++) buf[pos + k] = bytes[k];
  return pos + bytes.length;
}

/** Writes the decimal digits of `value` (a safe integer ≥ 0) at `pos`; returns the position after them. */
export function putDecimal(buf: Uint8Array, pos: number, value: number): number {
  let digits = 1;
  for (let p = 10; p <= value; p *= 10) digits++;
  let v = value;
  for (let k = pos + digits - 1; k >= pos; k--) {
    const q = Math.floor(v / 10);
    buf[k] = 0x30 + (v - q * 10);
    v = q;
  }
  return pos + digits;
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
 * Bytes a line can need around `text`: 48 for the rest of the line, and 3 per UTF-16 unit of a
 * short text (UTF-8's worst case); a long text is measured, so one 100 MB output does not
 * reserve 300 MB.
 */
export function lineRoom(text: string): number {
  return 48 + (text.length <= 65536 ? 3 * text.length : Buffer.byteLength(text, 'utf8'));
}
