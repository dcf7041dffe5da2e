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

function skipSpace(text: string, i: number): number {
  while (i < text.length && isSpace(text.charCodeAt(i))) i++;
  return i;
}

function trimEnd(text: string, end: number): number {
  while (end > 0 && isSpace(text.charCodeAt(end - 1))) end--;
  return end;
}

/** Index of the quote that closes the string opened at `open`; -1 if it never closes. */
function closingQuote(text: string, open: number): number {
  let q = open;
  for (;;) {
    q = text.indexOf('"', q + 1);
    if (q === -1) return -1;
    let backslashes = 0;
    for (let b = q - 1; text.charCodeAt(b) === BACKSLASH; b--) backslashes++;
    if ((backslashes & 1) === 0) return q;
  }
}

/**
 * The elements of the JSON array in `text` from `start` to its end, each as its own JSON
 * text, found by their top-level commas: no value is built, so a batch's outputs pass on as
 * text at a fraction of a parse and a stringify per item. Strings are skipped whole (an
 * escaped quote does not end one), nesting is counted. The text must come from a JSON
 * encoder (the worker SDKs' `result_array`); this checks the structure (brackets and
 * braces matched, no empty element, nothing after the array), not every literal. Undefined when the
 * structure is broken. `expected`, the count the header announced, sizes the result up front.
 */
export function splitJsonArray(text: string, start = 0, expected = 0): string[] | undefined {
  const n = text.length;
  let i = skipSpace(text, start);
  if (text.charCodeAt(i) !== OPEN_BRACKET) return undefined;
  i = skipSpace(text, i + 1);
  // Filled by index, not push: growing the array step by step was a third of this function's garbage.
  const elements: string[] = new Array<string>(expected);
  let count = 0;
  const result = () => {
    elements.length = count;
    return elements;
  };
  if (text.charCodeAt(i) === CLOSE_BRACKET) return skipSpace(text, i + 1) === n ? result() : undefined;
  let from = i;
  // The closers expected, innermost last: a `}` where `]` is due breaks the structure.
  const open: number[] = [];
  for (; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      i = closingQuote(text, i);
      if (i === -1) return undefined;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      open.push(c === OPEN_BRACE ? CLOSE_BRACE : CLOSE_BRACKET);
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      if (open.length > 0) {
        if (open.pop() !== c) return undefined;
        continue;
      }
      const end = trimEnd(text, i);
      if (c !== CLOSE_BRACKET || end <= from) return undefined;
      elements[count++] = text.slice(from, end);
      return skipSpace(text, i + 1) === n ? result() : undefined;
    } else if (c === COMMA && open.length === 0) {
      const end = trimEnd(text, i);
      if (end <= from) return undefined;
      elements[count++] = text.slice(from, end);
      from = skipSpace(text, i + 1);
      i = from - 1;
    }
  }
  return undefined;
}
