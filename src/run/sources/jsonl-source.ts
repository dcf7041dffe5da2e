import fs from 'node:fs';
import type { Readable } from 'node:stream';
import { eachRecord, type InputRecord, type InputSource, type SpanRecord } from './input-record.js';
import { FileDigests } from './file-digests.js';
import { stdinFileRefusal } from './input-state.js';
import type { DigestPlan, InputDigest } from './jsonl-file-digest.js';
import { withLineNumber, type HeldBackLine } from './unfinished-line.js';
import { ChunkBytes } from './chunk-bytes.js';
import { plainJsonLineEnd } from '../../json/plain-json-line.js';

const NEWLINE = 0x0a;
const COMMA = 0x2c;
/** UTF-8 of U+FEFF: a text editor's byte order mark, skipped at the start of the input. */
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/**
 * Where each of a span's `count` values starts in its decoded JSON. They are the byte offsets
 * `starts` unless the decoded text is shorter than its bytes (`wide`: a character beyond ASCII
 * takes 2 to 4 bytes and 1 or 2 UTF-16 units); then each value is measured decoded, which is
 * exact because the cuts are at ASCII bytes, where UTF-8 decoding of the whole equals that of
 * the parts. (No piece of UTF-8 decodes to more units than bytes, so equal lengths mean every
 * byte became one unit, invalid bytes as U+FFFD included, and the byte offsets are exact.)
 */
function charOffsets(text: Buffer, spanStart: number, starts: Uint32Array, count: number, wide: boolean): Uint32Array {
  const offsets = starts.slice(0, count);
  if (!wide) return offsets;
  for (let k = 1; k < count; k++) {
    const len = text.toString('utf8', spanStart + starts[k - 1], spanStart + starts[k] - 1).length;
    offsets[k] = offsets[k - 1] + len + 1;
  }
  return offsets;
}

function costOf(value: unknown, field: string): number {
  if (value !== null && typeof value === 'object') {
    const c = (value as Record<string, unknown>)[field];
    if (typeof c === 'number' && Number.isFinite(c) && c > 0) return c;
  }
  return 1;
}

/** What a run's journal knows a JSONL file by; the reader thread's source uses it too, so a run resumes across the two. */
export function fileIdentity(file: string): string {
  return `file:${fs.realpathSync(file)}`;
}

/** As {@link fileIdentity}, for a stream (stdin). */
export function streamIdentity(description: string): string {
  return `stream:${description}`;
}

/**
 * JSONL, streamed: one input per line, id = 1-based line number, seq = id - 1. Blank lines
 * are not inputs. A malformed line becomes a parse-error record (with its line number),
 * never a silent drop. Memory is one read chunk (and the longest line), whatever the file size.
 */
export class JsonlSource implements InputSource {
  private bytesRead = 0;
  /** Lines a whole read found (blank ones too), once it ended. */
  linesRead?: number;
  private closed = false;
  /** The stream of `fromStream`, destroyed by `close`. */
  private stream?: Readable;
  /** The digest bookkeeping of `fromFile`'s file. */
  private digests?: FileDigests;

  constructor(
    /** The input's chunks; a chunk may be overwritten once the next is asked for (`fileChunks`). */
    private readonly open: () => AsyncIterable<Buffer | Uint8Array | string>,
    readonly description: string,
    readonly identity: string,
    private readonly totalBytes: number | undefined,
    private readonly costField: string,
    readonly state?: string,
  ) {}

  get knownEmpty(): boolean {
    return this.totalBytes === 0;
  }

  /**
   * The file as long as it is now (`known`: as the main thread saw it, for the reader thread):
   * lines added while it is read are the next run's, so that the state, and the digest taken of
   * the bytes read ({@link readDigest}), say which lines ran.
   */
  static fromFile(file: string, costField: string, known?: { readonly size: number; readonly state: string }): JsonlSource {
    return JsonlSource.ofDigests(known ? new FileDigests(file, known.size, known.state) : FileDigests.ofFile(file), costField);
  }

  /**
   * As {@link fromFile}, with its last line read as it is, never held back: for a `gpupool serve`
   * job, whose inputs were written whole, and which no later command runs again to take it up.
   */
  static fromFileAsIs(file: string, costField: string): JsonlSource {
    return JsonlSource.ofDigests(FileDigests.ofFile(file, false), costField);
  }

  private static ofDigests(digests: FileDigests, costField: string): JsonlSource {
    const source = new JsonlSource(() => digests.chunks(), digests.file, fileIdentity(digests.file), digests.size, costField, digests.state);
    source.digests = digests;
    return source;
  }

  /** The stream's chunks are the reader's: it writes commas over newlines in them (see `scan`). */
  static fromStream(stream: Readable, description: string, costField: string, state?: string): JsonlSource {
    const source = new JsonlSource(() => stream, description, streamIdentity(description), undefined, costField, state);
    source.stream = stream;
    return source;
  }

  close(): void {
    this.closed = true;
    this.stream?.destroy();
  }

  fractionRead(): number | undefined {
    return this.totalBytes ? Math.min(1, this.bytesRead / this.totalBytes) : undefined;
  }

  /** The file's last line, left for the next run: it has no line end and may be unfinished (see `unfinishedLastLine`). */
  get heldBack(): HeldBackLine | undefined {
    return withLineNumber(this.digests?.heldBack, this.linesRead);
  }

  /** Once a read of a file reached its end: its state and the CRC-32 of its bytes, for the journal (`INPUT_DIGEST_META`). */
  readDigest(): InputDigest | undefined {
    return this.digests?.digest;
  }

  /** The digest of the bytes read so far, where it stands for what ran: the journal keeps it before each commit (`InputDigestKeeper`). */
  readCheckpoint(): InputDigest | undefined {
    return this.digests?.checkpoint;
  }

  planReadDigest(plan: DigestPlan): void {
    this.digests?.setPlan(plan);
  }

  /** A file that only grew since `former` (lines added after the last) continues: see `jsonlFileContinues`. */
  continues(former: string, storedMeta: Record<string, unknown>): boolean | string {
    return this.digests?.continues(former, storedMeta) ?? stdinFileRefusal(former) ?? false;
  }

  records(): AsyncIterable<InputRecord> {
    return eachRecord(this.recordBatches());
  }

  recordBatches(): AsyncIterable<readonly InputRecord[]> {
    return this.scan(0) as AsyncIterable<readonly InputRecord[]>;
  }

  spanBatches(maxLines: number): AsyncIterable<readonly (InputRecord | SpanRecord)[]> {
    return this.scan(maxLines);
  }

  /**
   * Lines to records, a read chunk at a time. With `spanLines` > 0, lines that {@link plainJsonLineEnd}
   * passes are gathered into spans of up to that many (never across a chunk, a blank line or a
   * line that needs the careful parse); every other line is parsed as before.
   *
   * The chunk stays bytes: a line is found and checked before it is decoded, and a span's lines
   * become its comma-joined JSON by overwriting their newlines with commas **in the chunk**, then
   * one decode of the span (a raw newline byte is never part of a UTF-8 character or a JSON
   * string, so only line ends are touched). A line cut by the end of a chunk waits as pieces,
   * copied because the next read may overwrite the chunk; only its own bytes are joined once its
   * newline comes, so a long line costs no rescan. A UTF-8 byte order mark at the very start is
   * skipped.
   */
  private async *scan(spanLines: number): AsyncIterable<readonly (InputRecord | SpanRecord)[]> {
    const starts = new Uint32Array(Math.max(1, spanLines));
    const chunks = new ChunkBytes();
    let pieces: Buffer[] = [];
    let lineNo = 0;
    let first = true;

    /** Records of the whole lines of `text` from `from`; returns where its unfinished last line starts. */
    const lines = (text: Buffer, from: number, batch: (InputRecord | SpanRecord)[]): number => {
      let spanCount = 0;
      let spanStart = 0;
      let spanEnd = 0;
      const flushSpan = () => {
        const seq = lineNo - spanCount;
        if (spanCount === 1) {
          batch.push({ seq, id: seq + 1, json: text.toString('utf8', spanStart, spanEnd), cost: 1 });
        } else {
          for (let k = 1; k < spanCount; k++) text[spanStart + starts[k] - 1] = COMMA;
          const json = text.toString('utf8', spanStart, spanEnd);
          batch.push({ seq, id: seq + 1, json, offsets: charOffsets(text, spanStart, starts, spanCount, json.length !== spanEnd - spanStart) });
        }
        spanCount = 0;
      };
      const limit = text.length;
      let start = from;
      for (;;) {
        // A plain line is found by checking it (no search for its newline first).
        let nl = spanLines > 0 ? plainJsonLineEnd(text, start, limit) : -1;
        if (nl !== -1) {
          if (spanCount === 0) spanStart = start;
          starts[spanCount++] = start - spanStart;
          spanEnd = nl;
          lineNo++;
          if (spanCount === spanLines) flushSpan();
        } else {
          nl = text.indexOf(NEWLINE, start);
          if (nl === -1) break;
          if (spanCount > 0) flushSpan();
          lineNo++;
          const rec = this.parseLine(text.toString('utf8', start, nl), lineNo);
          if (rec) batch.push(rec);
        }
        start = nl + 1;
      }
      if (spanCount > 0) flushSpan();
      return start;
    };

    // The input's first bytes while they are fewer than a BOM's and could still be one (a stream
    // may hand them over a byte at a time).
    let head: Buffer | undefined;
    const reads = this.open()[Symbol.asyncIterator]();
    let ended = false;
    try {
      for (;;) {
        let next: IteratorResult<Buffer | Uint8Array | string>;
        try {
          next = await reads.next();
        } catch (err) {
          if (this.closed) return; // the stream was destroyed by close(): the end, not an error
          throw err;
        }
        if (this.closed) return;
        if (next.done) break;
        let chunk = chunks.bytes(next.value);
        this.bytesRead += chunk.length;
        let from = 0;
        if (first) {
          if (head) {
            chunk = Buffer.concat([head, chunk]);
            head = undefined;
          }
          if (chunk.length < BOM.length && chunk.equals(BOM.subarray(0, chunk.length))) {
            head = Buffer.from(chunk); // a copy: the chunk's memory is the reader's to reuse
            continue;
          }
          first = false;
          if (chunk.subarray(0, BOM.length).equals(BOM)) from = BOM.length;
        }
        const batch: (InputRecord | SpanRecord)[] = [];
        if (pieces.length > 0) {
          const nl = chunk.indexOf(NEWLINE);
          if (nl === -1) {
            pieces.push(Buffer.from(chunk)); // a copy: the chunk's memory is the reader's to reuse
            continue;
          }
          pieces.push(chunk.subarray(0, nl + 1));
          lines(Buffer.concat(pieces), 0, batch);
          pieces = [];
          from = nl + 1;
        }
        const rest = lines(chunk, from, batch);
        if (rest < chunk.length) pieces.push(Buffer.from(chunk.subarray(rest))); // a copy, as above
        if (batch.length > 0) yield batch;
      }
      ended = true;
    } finally {
      // Stopped early (the reader returned, or close()): the input's own clean-up (a file closed).
      // Its own failure to clean up would only hide why the read stopped.
      if (!ended) await Promise.resolve(reads.return?.()).catch(() => undefined);
    }
    if (head) pieces.push(head); // one or two bytes of a BOM and no more: they are the input
    pieces.push(chunks.rest());
    const tail = Buffer.concat(pieces);
    this.linesRead = tail.length > 0 ? lineNo + 1 : lineNo;
    if (tail.length > 0) {
      const rec = this.parseLine(tail.toString('utf8'), lineNo + 1);
      if (rec) yield [rec];
    }
  }

  private parseLine(raw: string, lineNo: number): InputRecord | undefined {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    // Blank lines are not inputs. A line starting with a printable ASCII character is not blank:
    // only the others pay for trim(), which copies the line (a cost per item at 300k items/s).
    const first = line.charCodeAt(0);
    if (line.length === 0 || ((first <= 0x20 || first >= 0x7f) && line.trim().length === 0)) return undefined;
    try {
      const value: unknown = JSON.parse(line);
      return { seq: lineNo - 1, id: lineNo, json: line, cost: costOf(value, this.costField) };
    } catch (err) {
      const detail = (err as Error).message.replace(/^Unexpected/, 'unexpected');
      return { seq: lineNo - 1, id: lineNo, parseError: `line ${lineNo} is not valid JSON (${detail}): ${line.slice(0, 80)}` };
    }
  }
}
