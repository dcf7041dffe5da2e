import fs from 'node:fs';

/** A JSONL file's last line left for a later run: it has no line end and is not whole JSON yet. */
export interface HeldBackLine {
  /** Where it begins (its bytes are the file's from here to the size the run read it at). */
  readonly at: number;
  readonly bytes: number;
  /** Its first bytes, for the message. */
  readonly head: string;
}

const NEWLINE = 0x0a;
/** Bytes per backward read while looking for the last line end. */
const BLOCK = 1 << 16;
const BOM = '\ufeff';

/**
 * The last line of a JSONL file `size` bytes long, when a producer appending to the file may
 * still be writing it: no line end after it, and not one whole JSON value (`{"page": 12, "te`).
 * A run reads the file up to that line and leaves it for the next run, which finds it whole (the
 * file then only grew: it resumes). Run now, it would fail as malformed, and once the producer
 * finished it, the file would no longer begin with the bytes that ran, and be refused. A last
 * line without its line end that is whole JSON (a file written without a final newline) runs.
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
    if (line.trim().length === 0 || isWholeJson(line)) return undefined;
    return { at, bytes: size - at, head: line.slice(0, 40) };
  } finally {
    fs.closeSync(fd);
  }
}

function isWholeJson(line: string): boolean {
  try {
    JSON.parse(line);
    return true;
  } catch {
    return false;
  }
}

/** What the CLI says of a last line held back (`GPUPOOL_E_INPUT_UNFINISHED`, exit 16). */
export function heldBackMessage(file: string, line: HeldBackLine): string {
  const head = line.head.length < line.bytes ? `${JSON.stringify(line.head)}…` : JSON.stringify(line.head);
  return `GPUPOOL_E_INPUT_UNFINISHED: the last line of ${file} (${heldBackBytes(line)}: ${head}) has no line end and is not whole JSON: a producer may still be writing it, so it was left for the next run; once it is written, the same command runs it (and the lines added after it); if the file is complete, end or fix that line`;
}

/** "26 bytes from byte 2026": where a held-back line lies, for messages. */
export function heldBackBytes(line: { readonly at: number; readonly bytes: number }): string {
  return `${line.bytes} byte${line.bytes === 1 ? '' : 's'} from byte ${line.at}`;
}
