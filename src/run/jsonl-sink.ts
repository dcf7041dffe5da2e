import fs from 'node:fs';
import { assertSeq } from '../store/index.js';
import { OutputSlices, utf8Room, type OutputTexts } from '../protocol/index.js';
import { DecimalCounter, LINE_ROOM, putSpanLines } from './line-bytes.js';
import { shownCode, type ItemFailure, type ItemSink, type WorkItem } from '../scheduler/index.js';
import type { LineWriterThread } from './writer/index.js';

/** What the sink tells the journal after each group is in the output file. */
export interface GroupCommit {
  /** The group's done seqs; a fresh array per group, the sink keeps no hold on it. */
  readonly done: Uint32Array;
  readonly failed: { seq: number; id: string | number; code: string; message: string }[];
  /** Length of the output file once this group is in it. */
  readonly outputBytes: number;
}

export interface JsonlSinkOptions {
  /** Output file, appended to (after the journal truncated it to its last commit). */
  readonly path: string;
  /** Where resume starts writing; the file is truncated to it. */
  readonly startBytes: number;
  /** Records the group in the journal; an asynchronous store (Redis) is awaited before the next group. */
  readonly commit?: (group: GroupCommit) => void | Promise<void>;
  /** A group is written at least this often. @defaultValue 50 */
  readonly flushEveryMs?: number;
  /** …or once it holds this many items. @defaultValue 8192 */
  readonly flushItems?: number;
  /** …or once it holds this many bytes of output. @defaultValue 4 MiB */
  readonly flushBytes?: number;
  /**
   * Called per finished item, or once for a span's `n` (after they are buffered), for progress
   * and stop-on-error; a failed item comes with its id and failure.
   */
  readonly onItems?: (ok: boolean, device: string | undefined, n: number, failed?: { id: string | number; failure: ItemFailure }) => void;
  /** Called once a group is durable in the file and journal: these items no longer occupy memory. */
  readonly onCommitted?: (items: number) => void;
  /** Call with the first write error (disk full…); the run stops. */
  readonly onError?: (err: Error) => void;
  /**
   * Makes the lines of spans and writes every group on a thread of its own: spans are staged as
   * the worker's output bytes, and the main thread only copies them. The sink closes it.
   */
  readonly writer?: LineWriterThread;
}

const INITIAL_BUFFER_BYTES = 256 * 1024;
/** A group buffer larger than this (a group of big outputs) is not kept for the next group. */
const KEEP_BUFFER_BYTES = 8 * 1024 * 1024;

/**
 * Writes results as JSONL in the order they finish, in groups: one write() per group,
 * then the group's journal commit, so a kill -9 between the two is undone on resume by
 * truncating the file to the last committed length.
 *
 * Each line is encoded into the group's buffer as it arrives, not kept as a string until the
 * group is written: a string that waits there outlives V8's young generation, and the old
 * generation's garbage (not the live set) is what made host memory creep with the input size.
 * Two buffers take turns, so lines keep arriving while the other one is being written.
 *
 * With a `writer` thread, a span's lines are not made here: its outputs are copied into the
 * buffer as they came, with where each starts and ends (a `StagedGroup`), and the thread makes
 * the lines and writes the group. The file's bytes are the same either way.
 */
export class JsonlSink implements ItemSink {
  private fd: number;
  private bytes: number;
  // allocUnsafeSlow: a buffer of its own memory, which a writer thread can be handed (transferred).
  private buffer: Buffer = Buffer.allocUnsafeSlow(INITIAL_BUFFER_BYTES);
  private spare?: Buffer;
  private used = 0;
  /** A group write is queued and has not started: it will take every line buffered by then. */
  private flushQueued = false;
  /** Done seqs of the group being filled: the first `doneCount` (a typed array: no boxed numbers, no regrowth per group). */
  private doneSeqs = new Uint32Array(1024);
  private doneCount = 0;
  private readonly spanIds = new DecimalCounter();
  /** With a writer thread: the group's staged spans (4 numbers each) and their outputs' bounds. */
  private spans = new Float64Array(256);
  private spanNumbers = 0;
  private bounds = new Uint32Array(8192);
  private boundsCount = 0;
  /** The last group's staging arrays, back from the writer thread for the next group. */
  private spareSpans?: Float64Array<ArrayBuffer>;
  private spareBounds?: Uint32Array<ArrayBuffer>;
  private failedItems: GroupCommit['failed'] = [];
  private timer?: NodeJS.Timeout;
  private writing: Promise<void> = Promise.resolve();
  private error?: Error;
  private closed = false;
  succeeded = 0;
  failures = 0;
  /** A group is written once it holds this many items (or flushBytes, or after flushEveryMs). */
  flushItems: number;
  private readonly flushBytes: number;

  constructor(private readonly options: JsonlSinkOptions) {
    this.fd = fs.openSync(options.path, fs.constants.O_WRONLY | fs.constants.O_CREAT);
    // Only when it changes the file: on ext4, truncating a file to 0 bytes, even an empty new one,
    // makes its close start writeback of all that was written since (0.1-0.2 s at the end of a
    // run with 300 MB of output, measured on the dev VM), where the kernel would otherwise write
    // the pages in its own time.
    // A device (`/dev/null`) has no size to bring back.
    const stat = fs.fstatSync(this.fd);
    if (!stat.isCharacterDevice() && stat.size !== options.startBytes) fs.ftruncateSync(this.fd, options.startBytes);
    this.bytes = options.startBytes;
    this.flushItems = options.flushItems ?? 8192;
    this.flushBytes = options.flushBytes ?? 4 * 1024 * 1024;
  }

  done(item: WorkItem, output: unknown, device: string): void {
    this.doneJson(item, JSON.stringify(output) ?? 'null', device);
  }

  /** The output line is spliced from the worker's JSON text: no parse, no stringify. */
  doneJson(item: WorkItem, outputJson: string, device: string): void {
    assertSeq(item.seq, 'output sink: a done seq');
    const id = typeof item.id === 'number' ? String(item.id) : JSON.stringify(item.id);
    this.append(`{"id":${id},"output":${outputJson}}\n`);
    this.addDone(item.seq);
    this.succeeded++;
    this.options.onItems?.(true, device, 1);
    this.maybeFlush();
  }

  /**
   * A span's lines, written byte by byte into the group's buffer (no string per line): ids and
   * seqs count up from the span's. All or nothing: the lines and their done seqs are kept together.
   */
  doneSpan(item: WorkItem, outputs: OutputTexts, from: number, device: string): void {
    const n = item.count;
    // Both ends checked before anything is buffered: a typed array of done seqs would wrap a bad
    // one silently, where the journal refuses it at commit.
    assertSeq(item.seq, "output sink: a span's first seq");
    assertSeq(item.seq + n - 1, "output sink: a span's last seq");
    // Room for the done seqs first: once the lines are in, nothing may throw before their seqs are.
    this.makeDoneRoom(n);
    if (this.options.writer && outputs instanceof OutputSlices) this.stageSpan(item.id as number, outputs, from, n);
    else this.putSpan(item.id as number, outputs, from, n);
    this.addDoneRange(item.seq, n);
    this.succeeded += n;
    this.options.onItems?.(true, device, n);
    this.maybeFlush();
  }

  /** A span's lines, made here. */
  private putSpan(firstId: number, outputs: OutputTexts, from: number, n: number): void {
    // Room for the whole span at once, not a check per line. `used` moves only once the whole
    // span is written, with its done seqs: if anything throws on the way (an allocation here),
    // none of its lines reach the file.
    let room = n * LINE_ROOM;
    for (let j = 0; j < n; j++) room += outputs.room(from + j);
    if (this.used + room > this.buffer.length) this.grow(this.used + room);
    this.used = putSpanLines(this.buffer, this.used, this.spanIds, firstId, outputs, from, n);
  }

  /**
   * A span's outputs, copied as they came, for the writer thread to make its lines: one copy of
   * the answer's bytes and two numbers per line, where making the lines writes ~25 bytes each.
   */
  private stageSpan(firstId: number, outputs: OutputSlices, from: number, n: number): void {
    const src = outputs.bounds;
    const start = src[2 * from];
    const end = src[2 * (from + n) - 1];
    if (this.used + (end - start) > this.buffer.length) this.grow(this.used + (end - start));
    if (this.boundsCount + 2 * n > this.bounds.length) this.bounds = grown(this.bounds, this.boundsCount + 2 * n);
    if (this.spanNumbers + 4 > this.spans.length) this.spans = grown(this.spans, this.spanNumbers + 4);
    const at = this.used;
    outputs.bytes.copy(this.buffer, at, start, end);
    const shift = at - start;
    const bounds = this.bounds;
    let k = this.boundsCount;
    for (let j = 2 * from, last = 2 * (from + n); j < last; j++) bounds[k++] = src[j] + shift;
    this.boundsCount = k;
    const spans = this.spans;
    const s = this.spanNumbers;
    spans[s] = at;
    spans[s + 1] = at + (end - start);
    spans[s + 2] = firstId;
    spans[s + 3] = n;
    this.spanNumbers = s + 4;
    this.used = at + (end - start);
  }

  failed(item: WorkItem, failure: ItemFailure, device: string | undefined): void {
    const code = shownCode(failure);
    this.append(`${JSON.stringify({ id: item.id, error: { code, message: failure.message } })}\n`);
    this.failedItems.push({ seq: item.seq, id: item.id, code, message: failure.message });
    this.failures++;
    this.options.onItems?.(false, device, 1, { id: item.id, failure });
    this.maybeFlush();
  }

  /** Writes and commits everything buffered. */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.flushQueued = true;
    this.writing = this.writing.then(() => {
      this.flushQueued = false;
      return this.writeGroup();
    });
    await this.writing;
    if (this.error) throw this.error;
  }

  /**
   * Writes and commits what is buffered, then ends the writer thread and closes the file, even
   * when the flush fails (its error is thrown). A second call does nothing: the run closes the
   * sink again on its way out of an error, so that a writer thread never holds the process open.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.flush();
    } finally {
      try {
        await this.options.writer?.close();
      } finally {
        fs.closeSync(this.fd);
      }
    }
  }

  /** Lines in the buffer: each is a done or a failed item of the group. */
  private get buffered(): number {
    return this.doneCount + this.failedItems.length;
  }

  /** `seq` was checked with `assertSeq` before anything of its item was buffered. */
  private addDone(seq: number): void {
    this.addDoneRange(seq, 1);
  }

  /** Room for `count` more done seqs. */
  private makeDoneRoom(count: number): void {
    if (this.doneCount + count > this.doneSeqs.length) this.doneSeqs = grown(this.doneSeqs, this.doneCount + count);
  }

  /** `first` … `first + count - 1`, both ends checked with `assertSeq`. */
  private addDoneRange(first: number, count: number): void {
    this.makeDoneRoom(count);
    const seqs = this.doneSeqs;
    let k = this.doneCount;
    for (let j = 0; j < count; j++) seqs[k++] = first + j;
    this.doneCount = k;
  }

  private append(line: string): void {
    const room = utf8Room(line);
    if (this.used + room > this.buffer.length) this.grow(this.used + room);
    this.used += this.buffer.write(line, this.used);
  }

  /** A buffer of at least `need` bytes holding the first `keep` of the current one. */
  private grow(need: number): void {
    let size = this.buffer.length * 2;
    while (size < need) size *= 2;
    const bigger = Buffer.allocUnsafeSlow(size);
    this.buffer.copy(bigger, 0, 0, this.used);
    this.buffer = bigger;
  }

  private maybeFlush(): void {
    if (this.flushQueued) return; // the queued group takes these lines too
    if (this.buffered >= this.flushItems || this.used >= this.flushBytes) {
      void this.flush().catch(() => undefined);
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.flush().catch(() => undefined);
      }, this.options.flushEveryMs ?? 50);
    }
  }

  private async writeGroup(): Promise<void> {
    const count = this.buffered;
    if (count === 0 || this.error) return;
    const done = this.doneSeqs.slice(0, this.doneCount);
    const failed = this.failedItems;
    const full = this.buffer;
    const buf = full.subarray(0, this.used);
    const staged = this.options.writer && { bytes: full, used: this.used, spans: this.spans.subarray(0, this.spanNumbers), bounds: this.bounds.subarray(0, this.boundsCount) };
    this.buffer = this.spare ?? Buffer.allocUnsafeSlow(INITIAL_BUFFER_BYTES);
    this.spare = undefined;
    if (staged) {
      this.spans = this.spareSpans ?? new Float64Array(256);
      this.bounds = this.spareBounds ?? new Uint32Array(8192);
      this.spareSpans = this.spareBounds = undefined;
    }
    this.used = 0;
    this.doneCount = 0;
    this.failedItems = [];
    this.spanNumbers = 0;
    this.boundsCount = 0;
    try {
      let length = buf.length;
      if (staged) {
        const written = await this.options.writer!.write(this.fd, this.bytes, staged);
        length = written.length;
        if (written.bytes.length <= KEEP_BUFFER_BYTES) this.spare = written.bytes;
        this.spareSpans = written.spans;
        this.spareBounds = written.bounds;
      } else {
        await writeAll(this.fd, buf, this.bytes);
        // Groups are written one at a time (flush chains them), so the buffer is free again.
        if (full.length <= KEEP_BUFFER_BYTES) this.spare = full;
      }
      this.bytes += length;
      // A literal, not a spread of a group object: see decodeWorkerMessage on V8's spread copies.
      await this.options.commit?.({ done, failed, outputBytes: this.bytes });
    } catch (err) {
      this.error = err as Error;
      this.options.onError?.(this.error);
      return;
    }
    this.options.onCommitted?.(count);
  }
}

/** A bigger copy of `array` (twice, or `need`), for the arrays that grow with a group. */
function grown<T extends Float64Array | Uint32Array>(array: T, need: number): T {
  const bigger = new (array.constructor as new (n: number) => T)(Math.max(need, 2 * array.length));
  bigger.set(array);
  return bigger;
}

function writeAll(fd: number, buf: Buffer, position: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (offset: number) =>
      fs.write(fd, buf, offset, buf.length - offset, position + offset, (err, n) => {
        if (err) return reject(err);
        if (offset + n < buf.length) return step(offset + n);
        resolve();
      });
    step(0);
  });
}
