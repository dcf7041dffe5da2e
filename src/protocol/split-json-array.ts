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

/** Bytes a string is scanned in JS before `indexOf` takes over: keys and labels end well within it. */
const SHORT_STRING = 32;

/**
 * Index of the quote that closes the string opened at `open`; -1 if it never closes. A short
 * string is scanned here, escapes skipped as they come: `indexOf` is a call into C++ that cost
 * more than the whole string's scan for the keys and labels of a model's outputs. On the 2-core
 * VM (`bench/protocol/split-answers-bench.ts`, alternated): objects of short strings 106–111 →
 * 71–86 ns an output, short strings with escapes 56–66 → 28–29 ns; small ints the same.
 */
function closingQuote(bytes: Buffer, open: number): number {
  const near = Math.min(bytes.length, open + 1 + SHORT_STRING);
  let q = open + 1;
  while (q < near) {
    const c = bytes[q];
    if (c === QUOTE) return q;
    q += c === BACKSLASH ? 2 : 1;
  }
  // A long string: from where the loop stopped (never inside an escape), quote by quote, each
  // one closing unless an odd run of backslashes escapes it.
  for (q--; ; ) {
    q = bytes.indexOf(QUOTE, q + 1);
    if (q === -1) return -1;
    let backslashes = 0;
    for (let b = q - 1; bytes[b] === BACKSLASH; b--) backslashes++;
    if ((backslashes & 1) === 0) return q;
  }
}

/** What each byte means to the splitter; 0 for every byte it passes over. */
const PLAIN = 0;
const STRING = 1;
const OPENER = 2;
const CLOSER = 3;
const SEPARATOR = 4;
const BYTE_KINDS = new Uint8Array(256);
BYTE_KINDS[QUOTE] = STRING;
BYTE_KINDS[OPEN_BRACE] = OPENER;
BYTE_KINDS[OPEN_BRACKET] = OPENER;
BYTE_KINDS[CLOSE_BRACE] = CLOSER;
BYTE_KINDS[CLOSE_BRACKET] = CLOSER;
BYTE_KINDS[COMMA] = SEPARATOR;

/**
 * The elements of the JSON array in `bytes` from `start` to its end, each as a slice of those
 * bytes, found by their top-level commas: no value and no string is built, so a batch's outputs
 * pass on as bytes at a fraction of a parse and a stringify per item. The structure is found on
 * ASCII bytes only (in UTF-8 every byte of a character beyond ASCII is ≥ 0x80, so none is taken
 * for a quote or a comma). Strings are skipped whole (an escaped quote does not end one), nesting
 * is counted. The bytes must come from a JSON encoder (the worker SDKs' `result_array`); this
 * checks the structure (brackets and braces matched, no empty element, an element that begins
 * with a string, object or array ends with it, nothing after the array), not what is inside
 * strings, objects and arrays. Undefined when the structure is broken. `expected`, the count the header
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
  // Where the element's string, object or array ended (its closing byte), or -1: an element
  // that begins with one must end there, or it holds two values (`{"a":1}{"b":2}`, `"a"5`).
  let valueEnd = -1;
  // The closers expected, innermost last: a `}` where `]` is due breaks the structure.
  const open: number[] = [];
  for (; i < n; i++) {
    const c = bytes[i];
    // One table load for the digits, letters and spaces that make up most of the bytes.
    const kind = BYTE_KINDS[c];
    if (kind === PLAIN) continue;
    if (kind === STRING) {
      const top = open.length === 0;
      // A string at the top of an element is the element, so it is where the element begins.
      if (top && i !== from) return undefined;
      i = closingQuote(bytes, i);
      if (i === -1) return undefined;
      if (top) valueEnd = i;
    } else if (kind === OPENER) {
      if (open.length === 0 && i !== from) return undefined;
      open.push(c === OPEN_BRACE ? CLOSE_BRACE : CLOSE_BRACKET);
    } else if (kind === CLOSER) {
      if (open.length > 0) {
        if (open.pop() !== c) return undefined;
        if (open.length === 0) valueEnd = i;
        continue;
      }
      const end = trimEnd(bytes, i);
      if (c !== CLOSE_BRACKET || end <= from || (valueEnd !== -1 && end !== valueEnd + 1)) return undefined;
      add(from, end);
      return skipSpace(bytes, i + 1) === n ? result() : undefined;
    } else if (open.length === 0) {
      const end = trimEnd(bytes, i);
      if (end <= from || (valueEnd !== -1 && end !== valueEnd + 1)) return undefined;
      add(from, end);
      from = skipSpace(bytes, i + 1);
      valueEnd = -1;
      i = from - 1;
    }
  }
  return undefined;
}
