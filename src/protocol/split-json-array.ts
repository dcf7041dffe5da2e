import { OutputSlices } from './output-texts.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function skipSpace(bytes: Uint8Array, i: number): number {
  while (i < bytes.length && isSpace(bytes[i])) i++;
  return i;
}

function trimEnd(bytes: Uint8Array, end: number): number {
  while (end > 0 && isSpace(bytes[end - 1])) end--;
  return end;
}

/** Index of the quote that closes the string opened at `open`; -1 if it never closes. */
function closingQuote(bytes: Buffer, open: number): number {
  let q = open;
  for (;;) {
    q = bytes.indexOf(QUOTE, q + 1);
    if (q === -1) return -1;
    let backslashes = 0;
    for (let b = q - 1; bytes[b] === BACKSLASH; b--) backslashes++;
    if ((backslashes & 1) === 0) return q;
  }
}

/**
 * The elements of the JSON array in `bytes` from `start` to its end, each as a slice of those
 * bytes, found by their top-level commas: no value and no string is built, so a batch's outputs
 * pass on as bytes at a fraction of a parse and a stringify per item. The structure is found on
 * ASCII bytes only (in UTF-8 every byte of a character beyond ASCII is ≥ 0x80, so none is taken
 * for a quote or a comma). Strings are skipped whole (an escaped quote does not end one), nesting
 * is counted. The bytes must come from a JSON encoder (the worker SDKs' `result_array`); this
 * checks the structure (brackets and braces matched, no empty element, nothing after the array),
 * not every literal. Undefined when the structure is broken. `expected`, the count the header
 * announced, sizes the result up front; `ascii` is passed on to the slices.
 */
export function splitJsonArrayBytes(bytes: Buffer, start = 0, expected = 0, ascii = false): OutputSlices | undefined {
  const n = bytes.length;
  let i = skipSpace(bytes, start);
  if (bytes[i] !== OPEN_BRACKET) return undefined;
  i = skipSpace(bytes, i + 1);
  // Each element's start and end, side by side: one array for the batch.
  let bounds = new Uint32Array(2 * expected);
  let count = 0;
  const add = (from: number, end: number) => {
    if (2 * count === bounds.length) {
      // More elements than announced: the caller refuses the frame, but says how many there were.
      const more = new Uint32Array(Math.max(32, bounds.length * 2));
      more.set(bounds);
      bounds = more;
    }
    bounds[2 * count] = from;
    bounds[2 * count++ + 1] = end;
  };
  const result = () => new OutputSlices(bytes, 2 * count === bounds.length ? bounds : bounds.subarray(0, 2 * count), ascii);
  if (bytes[i] === CLOSE_BRACKET) return skipSpace(bytes, i + 1) === n ? result() : undefined;
  let from = i;
  // The closers expected, innermost last: a `}` where `]` is due breaks the structure.
  const open: number[] = [];
  for (; i < n; i++) {
    const c = bytes[i];
    if (c === QUOTE) {
      i = closingQuote(bytes, i);
      if (i === -1) return undefined;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      open.push(c === OPEN_BRACE ? CLOSE_BRACE : CLOSE_BRACKET);
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      if (open.length > 0) {
        if (open.pop() !== c) return undefined;
        continue;
      }
      const end = trimEnd(bytes, i);
      if (c !== CLOSE_BRACKET || end <= from) return undefined;
      add(from, end);
      return skipSpace(bytes, i + 1) === n ? result() : undefined;
    } else if (c === COMMA && open.length === 0) {
      const end = trimEnd(bytes, i);
      if (end <= from) return undefined;
      add(from, end);
      from = skipSpace(bytes, i + 1);
      i = from - 1;
    }
  }
  return undefined;
}
