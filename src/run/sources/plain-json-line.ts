/**
 * A fast, conservative check that `text[start, end)` is exactly one JSON value (with optional
 * spaces, tabs or a carriage return around it): the fast path of the JSONL source, where a
 * `JSON.parse` per line was the largest single cost of `gpupool run` on small items.
 *
 * It never says yes to text that `JSON.parse` refuses (fuzzed against it in the tests). It may
 * say no to valid JSON it does not bother with (nesting deeper than {@link MAX_DEPTH}); the
 * caller then parses the line the ordinary way, which also words the error of a bad line.
 * It allocates nothing: it walks the UTF-16 units once.
 */
export function isPlainJsonLine(text: string, start: number, end: number): boolean {
  const i = value(text, skipSpace(text, start, end), end, 0);
  return i >= 0 && skipSpace(text, i, end) === end;
}

const MAX_DEPTH = 32;

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

function skipSpace(text: string, i: number, end: number): number {
  while (i < end) {
    const c = text.charCodeAt(i);
    if (c !== SPACE && c !== TAB && c !== CR) break;
    i++;
  }
  return i;
}

/** Index just past the value that starts at `i`, or -1. */
function value(text: string, i: number, end: number, depth: number): number {
  if (i >= end) return -1;
  const c = text.charCodeAt(i);
  if (c === QUOTE) return string(text, i, end);
  if (c === MINUS || (c >= ZERO && c <= NINE)) return number(text, i, end);
  if (c === OPEN_BRACE) return depth < MAX_DEPTH ? object(text, i, end, depth + 1) : -1;
  if (c === OPEN_BRACKET) return depth < MAX_DEPTH ? array(text, i, end, depth + 1) : -1;
  if (text.startsWith('true', i)) return i + 4 <= end ? i + 4 : -1;
  if (text.startsWith('false', i)) return i + 5 <= end ? i + 5 : -1;
  if (text.startsWith('null', i)) return i + 4 <= end ? i + 4 : -1;
  return -1;
}

function object(text: string, i: number, end: number, depth: number): number {
  i = skipSpace(text, i + 1, end);
  if (i < end && text.charCodeAt(i) === CLOSE_BRACE) return i + 1;
  for (;;) {
    if (i >= end || text.charCodeAt(i) !== QUOTE) return -1;
    i = skipSpace(text, string(text, i, end), end);
    if (i < 0 || i >= end || text.charCodeAt(i) !== COLON) return -1;
    i = value(text, skipSpace(text, i + 1, end), end, depth);
    if (i < 0) return -1;
    i = skipSpace(text, i, end);
    if (i >= end) return -1;
    const c = text.charCodeAt(i);
    if (c === CLOSE_BRACE) return i + 1;
    if (c !== COMMA) return -1;
    i = skipSpace(text, i + 1, end);
  }
}

function array(text: string, i: number, end: number, depth: number): number {
  i = skipSpace(text, i + 1, end);
  if (i < end && text.charCodeAt(i) === CLOSE_BRACKET) return i + 1;
  for (;;) {
    i = value(text, i, end, depth);
    if (i < 0) return -1;
    i = skipSpace(text, i, end);
    if (i >= end) return -1;
    const c = text.charCodeAt(i);
    if (c === CLOSE_BRACKET) return i + 1;
    if (c !== COMMA) return -1;
    i = skipSpace(text, i + 1, end);
  }
}

/** `i` is at the opening quote. Control characters must be escaped; escapes must be JSON's. */
function string(text: string, i: number, end: number): number {
  if (i < 0) return -1;
  for (i++; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) return i + 1;
    if (c < SPACE) return -1;
    if (c === BACKSLASH) {
      if (++i >= end) return -1;
      const e = text.charCodeAt(i);
      if (e === 0x75 /* u */) {
        if (i + 4 >= end) return -1;
        for (let k = 1; k <= 4; k++) if (!isHex(text.charCodeAt(i + k))) return -1;
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
function number(text: string, i: number, end: number): number {
  if (text.charCodeAt(i) === MINUS) i++;
  if (i >= end) return -1;
  let c = text.charCodeAt(i);
  if (c === ZERO) {
    i++;
  } else if (c >= 0x31 && c <= NINE) {
    i = digits(text, i, end);
  } else {
    return -1;
  }
  if (i < end && text.charCodeAt(i) === DOT) {
    const after = digits(text, i + 1, end);
    if (after === i + 1) return -1;
    i = after;
  }
  c = i < end ? text.charCodeAt(i) : 0;
  if (c === 0x65 || c === 0x45) {
    i++;
    c = i < end ? text.charCodeAt(i) : 0;
    if (c === PLUS || c === MINUS) i++;
    const after = digits(text, i, end);
    if (after === i) return -1;
    i = after;
  }
  return i;
}

function digits(text: string, i: number, end: number): number {
  while (i < end) {
    const c = text.charCodeAt(i);
    if (c < ZERO || c > NINE) break;
    i++;
  }
  return i;
}
