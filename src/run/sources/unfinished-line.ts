import fs from 'node:fs';

/**
 * A JSONL file's last line left for a later run: it has no line end and may not be whole yet.
 * `blank`: only blanks (or a byte order mark), not an input either way: left out without a word,
 * so that what the producer writes next does not change a line that was read.
 */
export interface HeldBackLine {
  /** Where it begins (its bytes are the file's from here to the size the run read it at). */
  readonly at: number;
  readonly bytes: number;
  /** Its first 40 characters, for messages, with "…" after them where it goes on. */
  readonly head: string;
  readonly blank: boolean;
  /** Its line number, once a whole read counted the lines before it. */
  readonly line?: number;
}

const NEWLINE = 0x0a;
/** Bytes per backward read while looking for the last line end. */
const BLOCK = 1 << 16;
const BOM = '\ufeff';
/** How many characters of the line a message shows. */
const HEAD_CHARS = 40;

/**
 * The last line of a JSONL file `size` bytes long, when a producer appending to the file may
 * still be writing it: no line end after it, and not one whole JSON value (`{"page": 12, "te`),
 * or a number (`12` may be the start of `123`; not `12 `), or blanks. A run reads the file up to that line
 * and leaves it for the next run, which finds it whole (the file then only grew: it resumes).
 * Run now, it would fail as malformed, or give a number that is not the one written, and once
 * the producer finished it the file would no longer begin with the bytes that ran, and be
 * refused. Any other last line without its line end (an object, array, string or literal: a file
 * written without a final newline) runs. One read and parse of the last line, only where the
 * file does not end with a line end.
 */
export function unfinishedLastLine(file: string, size: number): HeldBackLine | undefined {
  if (size === 0) return undefined;
  const fd = fs.openSync(file, 'r');
  try {
    const last = Buffer.alloc(1);
    if (fs.readSync(fd, last, 0, 1, size - 1) !== 1 || last[0] === NEWLINE) return undefined;
    // Backwards, a block at a time, to the line end before it (or the file's start).
    const blocks: Buffer[] = [];
    let at = size;
    while (at > 0) {
      const from = Math.max(0, at - BLOCK);
      const block = Buffer.allocUnsafe(at - from);
      const n = fs.readSync(fd, block, 0, block.length, from);
      const nl = block.subarray(0, n).lastIndexOf(NEWLINE);
      if (nl !== -1) {
        blocks.unshift(block.subarray(nl + 1, n));
        at = from + nl + 1;
        break;
      }
      blocks.unshift(block.subarray(0, n));
      at = from;
    }
    const text = Buffer.concat(blocks).toString('utf8');
    const line = at === 0 && text.startsWith(BOM) ? text.slice(BOM.length) : text;
    // JSON's own blanks (a BOM alone is blank here too: trim() takes U+FEFF).
    const blank = line.trim().length === 0;
    if (!blank && !mayGrow(line)) return undefined;
    return { at, bytes: size - at, head: line.length > HEAD_CHARS ? `${line.slice(0, HEAD_CHARS)}…` : line, blank };
  } finally {
    fs.closeSync(fd);
  }
}

/** Not whole JSON, or a number not ended by a blank: of JSON's values, only a number cut short is still one. */
function mayGrow(line: string): boolean {
  try {
    return typeof JSON.parse(line) === 'number' && !/[ \t\r]$/.test(line);
  } catch {
    return true;
  }
}

/** `line` with its number, where a read counted the `linesBefore` it. */
export function withLineNumber(line: HeldBackLine | undefined, linesBefore: number | undefined): HeldBackLine | undefined {
  return line === undefined || linesBefore === undefined ? line : { ...line, line: linesBefore + 1 };
}

/** What the CLI says of a last line held back (`GPUPOOL_E_INPUT_UNFINISHED`, exit 16). */
export function heldBackMessage(file: string, line: HeldBackLine): string {
  return `GPUPOOL_E_INPUT_UNFINISHED: the last line of ${file} (${heldBackWhere(line)}: ${JSON.stringify(line.head)}) has no line end and may be unfinished (it is not whole JSON, or is a number, which may still grow): a producer may still be writing it, so it was left for the next run; once it is written, the same command runs it (and the lines added after it); if the file is complete, end or fix that line`;
}

/** "line 57, 26 bytes from byte 2026" (the number where it is known): where a held-back line lies, for messages. */
export function heldBackWhere(line: Pick<HeldBackLine, 'at' | 'bytes' | 'line'>): string {
  return `${line.line === undefined ? '' : `line ${line.line}, `}${line.bytes} byte${line.bytes === 1 ? '' : 's'} from byte ${line.at}`;
}
