import { eachRecord, type InputRecord, type InputSource, type SpanRecord } from './input-record.js';
import { fileIdentity, streamIdentity } from './jsonl-source.js';
import { FileDigests } from './file-digests.js';
import { stdinFileRefusal } from './input-state.js';
import type { DigestPlan, InputDigest } from './jsonl-file-digest.js';
import { withLineNumber, type HeldBackLine } from './unfinished-line.js';
import { unpackBatch } from './packed-batch.js';
import type { ReaderThreadMessage, ReaderThreadOptions } from './reader-thread-messages.js';
import { rebuildError } from '../threads/posted-error.js';
import { startModuleThread } from '../threads/start-module-thread.js';

/**
 * Chunks the reader thread may read ahead of the main thread (each ~64 KiB of input as records):
 * enough that the main thread never waits on it, few enough that memory stays flat. They are
 * granted half a window at a time: with a grant per chunk, the CPU profile put ~100 µs of the
 * main thread's time into each post on the 2-core dev VM (it wakes the sleeping thread).
 */
export const READ_AHEAD_CHUNKS = 8;

/**
 * A JSONL file (or stdin) read by a thread of its own: the same records, in the same order, with
 * the same identity as {@link JsonlSource.fromFile} (`fromStream` for stdin), so a run may resume
 * with or without it. What moves off the main thread is the per-line work of reading (finding
 * lines, checking they are plain JSON, decoding spans): on a small item that is ~40% of what
 * `gpupool run`'s main thread does (profile in BENCHMARKS.md), and the main thread is what bounds
 * a run where workers are fast.
 */
export class ThreadedJsonlSource implements InputSource {
  private fraction: number | undefined;
  private waiting = 0;
  private running = false;
  /** As `JsonlSource.linesRead`: the thread's first whole read's. */
  private linesRead?: number;
  private closed = false;
  /** Ends the read under way at once (see `close`). */
  private endRead?: () => void;

  private constructor(
    /** Absent: stdin, read from fd 0 by the thread. The thread reads the file as long as it was then, as `JsonlSource.fromFile` does. */
    private readonly digests: FileDigests | undefined,
    private readonly costField: string,
    readonly description: string,
    readonly identity: string,
    readonly state?: string,
  ) {
    this.fraction = digests === undefined ? undefined : 0;
  }

  static fromFile(file: string, costField: string): ThreadedJsonlSource {
    const digests = FileDigests.ofFile(file);
    return new ThreadedJsonlSource(digests, costField, file, fileIdentity(file), digests.state);
  }

  /** stdin: the main thread must not have touched `process.stdin` (that would make its reads Node's). */
  static fromStdin(costField: string, state?: string): ThreadedJsonlSource {
    return new ThreadedJsonlSource(undefined, costField, 'stdin', streamIdentity('stdin'), state);
  }

  get knownEmpty(): boolean {
    return this.digests?.size === 0;
  }

  fractionRead(): number | undefined {
    return this.fraction;
  }

  /** As `JsonlSource.heldBack`. */
  get heldBack(): HeldBackLine | undefined {
    return withLineNumber(this.digests?.heldBack, this.linesRead);
  }

  /** As `JsonlSource.planReadDigest`: the thread's reads follow it. */
  planReadDigest(plan: DigestPlan): void {
    this.digests?.setPlan(plan);
  }

  /** As `JsonlSource.readDigest`: once the thread read the file to its end. */
  readDigest(): InputDigest | undefined {
    return this.digests?.digest;
  }

  /** As `JsonlSource.readCheckpoint`: the thread posts it with each batch. */
  readCheckpoint(): InputDigest | undefined {
    return this.digests?.checkpoint;
  }

  /** As `JsonlSource.continues`. */
  continues(former: string, storedMeta: Record<string, unknown>): boolean | string {
    return this.digests?.continues(former, storedMeta) ?? stdinFileRefusal(former) ?? false;
  }

  /** Chunks the thread has posted that were not yet taken: never more than {@link READ_AHEAD_CHUNKS}. */
  get chunksWaiting(): number {
    return this.waiting;
  }

  /** Whether a reader thread is up (a read that stopped, however, has ended its thread). */
  get threadRunning(): boolean {
    return this.running;
  }

  /**
   * Stops reading now: a read waiting for input (a producer on stdin that stays silent) ends as
   * if the input had ended, records not yet taken are dropped, and the thread is stopped. The run
   * calls it when it drains (Ctrl-C, `--on-error stop`, a write error): nothing more is admitted.
   */
  close(): void {
    this.closed = true;
    this.endRead?.();
  }

  records(): AsyncIterable<InputRecord> {
    return eachRecord(this.recordBatches());
  }

  recordBatches(): AsyncIterable<readonly InputRecord[]> {
    return this.read(0) as AsyncIterable<readonly InputRecord[]>;
  }

  spanBatches(maxLines: number): AsyncIterable<readonly (InputRecord | SpanRecord)[]> {
    return this.read(maxLines);
  }

  private async *read(spanLines: number): AsyncIterable<readonly (InputRecord | SpanRecord)[]> {
    if (this.closed) return;
    const { digests } = this;
    const first = digests?.beginRead() === true;
    const options: ReaderThreadOptions = {
      file: digests?.file,
      known: digests && { size: digests.size, state: digests.state },
      digestPlan: digests?.currentPlan,
      costField: this.costField,
      spanLines,
    };
    const worker = startModuleThread(import.meta.url, 'jsonl-reader-thread', options);
    this.running = true;
    worker.once('exit', () => (this.running = false));
    const inbox: ReaderThreadMessage[] = [];
    let arrived: (() => void) | undefined;
    const deliver = (message: ReaderThreadMessage) => {
      inbox.push(message);
      if (message.kind === 'batch') this.waiting++;
      arrived?.();
      arrived = undefined;
    };
    const exitedEarly = (code: number) => deliver({ kind: 'error', error: { message: `the JSONL reader thread exited (code ${code}) before the end of ${this.description}` } });
    worker.on('message', deliver);
    worker.on('error', (err) => deliver({ kind: 'error', error: { message: err.message, stack: err.stack } }));
    worker.on('exit', exitedEarly);
    // Held open only while the run waits for a chunk (below): a read dropped without `close()` or
    // `return()` does not keep the process alive.
    worker.unref();
    this.endRead = () => {
      this.waiting = 0;
      inbox.length = 0;
      deliver({ kind: 'end' });
    };
    // Chunks the thread may still post, plus those posted and not yet taken.
    let ahead = READ_AHEAD_CHUNKS;
    worker.postMessage(READ_AHEAD_CHUNKS);
    try {
      for (;;) {
        if (inbox.length === 0) {
          worker.ref();
          while (inbox.length === 0) await new Promise<void>((resolve) => (arrived = resolve));
          worker.unref();
        }
        const message = inbox.shift()!;
        if (message.kind === 'end') {
          if (this.digests) this.digests.digest ??= message.digest;
          this.linesRead ??= message.lines;
          return;
        }
        if (message.kind === 'error') throw rebuildError(message.error);
        this.fraction = message.fraction;
        if (first && message.checkpoint) digests!.checkpoint = message.checkpoint;
        this.waiting--;
        if (--ahead <= READ_AHEAD_CHUNKS / 2) {
          worker.postMessage(READ_AHEAD_CHUNKS - ahead);
          ahead = READ_AHEAD_CHUNKS;
        }
        yield unpackBatch(message.batch);
      }
    } finally {
      this.endRead = undefined;
      worker.off('exit', exitedEarly);
      await worker.terminate();
    }
  }
}
