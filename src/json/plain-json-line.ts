/**
 * A fast, conservative check that the UTF-8 bytes `text[start, end)` are exactly one JSON value
 * (with optional spaces, tabs or a carriage return around it): the fast path of the JSONL
 * source, where a `JSON.parse` per line was the largest single cost of `gpupool run` on small
 * items.
 *
 * It never says yes to a line that `JSON.parse` refuses once decoded (fuzzed against it in the
 * tests). It may say no to valid JSON it does not bother with (nesting deeper than
 * {@link MAX_DEPTH}); the caller then parses the line the ordinary way, which also words the
 * error of a bad line. Bytes from 0x80 up are accepted inside strings only, as JSON's
 * characters beyond ASCII are (an invalid UTF-8 sequence decodes to U+FFFD, which JSON accepts
 * there too). It allocates nothing: it walks the bytes once, before they are decoded.
 */
export function isPlainJsonLine(text: Uint8Array, start: number, end: number): boolean {
  const i = value(text, skipSpace(text, start, end), end, 0);
  return i >= 0 && skipSpace(text, i, end) === end;
}

/**
 * {@link isPlainJsonLine} for the line that starts at `start`, without knowing where it ends:
 * the index of its newline if it is plain, else -1 (also when no newline comes before `limit`).
 * The same as `isPlainJsonLine(text, start, nl)` for the next newline `nl`, because a value's
 * grammar never reads a newline byte (strings refuse control characters, and the spaces
 * around values are spaces, tabs and CRs), so it stops there; it saves the reader a search for
 * the newline per line.
 */
export function plainJsonLineEnd(text: Uint8Array, start: number, limit: number): number {
  const i = value(text, skipSpace(text, start, limit), limit, 0);
  if (i < 0) return -1;
  const j = skipSpace(text, i, limit);
  return j < limit && text[j] === NEWLINE ? j : -1;
}

const MAX_DEPTH = 32;

const NEWLINE = 0x0a;

const TAB = 0x09;
const CR = 0x0d;
const SPACE = 0x20;
const QUOTE = 0x22;
const PLUS = 0x2b;
const COMMA = 0x2c;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const COLON = 0x3a;
const OPEN_BRACKET = 0x5b;
const BACKSLASH = 0x5c;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

function skipSpace(text: Uint8Array, i: number, end: number): number {
  while (i < end) {
    const c = text[i];
    if (c !== SPACE && c !== TAB && c !== CR) break;
    i++;
  }
  return i;
}

/** Index just past the value that starts at `i`, or -1. */
function value(text: Uint8Array, i: number, end: number, depth: number): number {
  if (i >= end) return -1;
  const c = text[i];
  if (c === QUOTE) return string(text, i, end);
  if (c === MINUS || (c >= ZERO && c <= NINE)) return number(text, i, end);
  if (c === OPEN_BRACE) return depth < MAX_DEPTH ? object(text, i, end, depth + 1) : -1;
  if (c === OPEN_BRACKET) return depth < MAX_DEPTH ? array(text, i, end, depth + 1) : -1;
  if (c === 0x74 /* t */) return literal(text, i, end, TRUE);
  if (c === 0x66 /* f */) return literal(text, i, end, FALSE);
  if (c === 0x6e /* n */) return literal(text, i, end, NULL);
  return -1;
}

const TRUE = [0x74, 0x72, 0x75, 0x65];
const FALSE = [0x66, 0x61, 0x6c, 0x73, 0x65];
const NULL = [0x6e, 0x75, 0x6c, 0x6c];

/** Index just past `word` if it is spelled at `i` before `end`, or -1. */
function literal(text: Uint8Array, i: number, end: number, word: readonly number[]): number {
  if (i + word.length > end) return -1;
  for (let k = 1; k < word.length; k++) if (text[i + k] !== word[k]) return -1;
  return i + word.length;
}

function object(text: Uint8Array, i: number, end: number, depth: number): number {
  i = skipSpace(text, i + 1, end);
  if (i < end && text[i] === CLOSE_BRACE) return i + 1;
  for (;;) {
    if (i >= end || text[i] !== QUOTE) return -1;
    i = skipSpace(text, string(text, i, end), end);
    if (i < 0 || i >= end || text[i] !== COLON) return -1;
    i = value(text, skipSpace(text, i + 1, end), end, depth);
    if (i < 0) return -1;
    i = skipSpace(text, i, end);
    if (i >= end) return -1;
    const c = text[i];
    if (c === CLOSE_BRACE) return i + 1;
    if (c !== COMMA) return -1;
    i = skipSpace(text, i + 1, end);
  }
}

function array(text: Uint8Array, i: number, end: number, depth: number): number {
  i = skipSpace(text, i + 1, end);
  if (i < end && text[i] === CLOSE_BRACKET) return i + 1;
  for (;;) {
    i = value(text, i, end, depth);
    if (i < 0) return -1;
    i = skipSpace(text, i, end);
    if (i >= end) return -1;
    const c = text[i];
    if (c === CLOSE_BRACKET) return i + 1;
    if (c !== COMMA) return -1;
    i = skipSpace(text, i + 1, end);
  }
}

/** `i` is at the opening quote. Control characters must be escaped; escapes must be JSON's. */
function string(text: Uint8Array, i: number, end: number): number {
  if (i < 0) return -1;
  for (i++; i < end; i++) {
    const c = text[i];
    if (c === QUOTE) return i + 1;
    if (c < SPACE) return -1;
    if (c === BACKSLASH) {
      if (++i >= end) return -1;
      const e = text[i];
      if (e === 0x75 /* u */) {
        if (i + 4 >= end) return -1;
        for (let k = 1; k <= 4; k++) if (!isHex(text[i + k])) return -1;
        i += 4;
      } else if (!(e === QUOTE || e === BACKSLASH || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74)) {
        return -1;
      }
    }
  }
  return -1;
}

function isHex(c: number): boolean {
  return (c >= ZERO && c <= NINE) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

/** -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)? */
function number(text: Uint8Array, i: number, end: number): number {
  if (text[i] === MINUS) i++;
  if (i >= end) return -1;
  let c = text[i];
  if (c === ZERO) {
    i++;
  } else if (c >= 0x31 && c <= NINE) {
    i = digits(text, i, end);
  } else {
    return -1;
  }
  if (i < end && text[i] === DOT) {
    const after = digits(text, i + 1, end);
    if (after === i + 1) return -1;
    i = after;
  }
  c = i < end ? text[i] : 0;
  if (c === 0x65 || c === 0x45) {
    i++;
    c = i < end ? text[i] : 0;
    if (c === PLUS || c === MINUS) i++;
    const after = digits(text, i, end);
    if (after === i) return -1;
    i = after;
  }
  return i;
}

function digits(text: Uint8Array, i: number, end: number): number {
  while (i < end) {
    const c = text[i];
    if (c < ZERO || c > NINE) break;
    i++;
  }
  return i;
}
