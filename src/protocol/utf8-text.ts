/**
 * Copying JSON text into byte buffers without a string or a buffer per item: the loops here
 * allocate nothing, and short texts skip the call into C++ that `Buffer.write` and
 * `Buffer.copy` are. The caller makes room first ({@link utf8Room}).
 */

/** Below this many units (characters or bytes) a JS loop copies faster than a call into C++. */
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

/** Copies `src[start…end)` to `buf` at `pos`; returns the position after it. */
export function putBytes(buf: Buffer, pos: number, src: Buffer, start: number, end: number): number {
  const n = end - start;
  if (n >= SHORT_TEXT) return pos + src.copy(buf, pos, start, end);
  for (let k = 0; k < n; k++) buf[pos + k] = src[start + k];
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
