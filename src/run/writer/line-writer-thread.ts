import type { Worker } from 'node:worker_threads';
import { rebuildError } from '../threads/posted-error.js';
import { startModuleThread } from '../threads/start-module-thread.js';
import type { StagedGroup } from './staged-group.js';
import type { WriteReply, WriteRequest } from './writer-thread-messages.js';

/** A group written by the thread: its length in the file, and its staging arrays back, whole, for reuse. */
export interface WrittenGroup {
  readonly length: number;
  readonly bytes: Buffer;
  readonly spans: Float64Array<ArrayBuffer>;
  readonly bounds: Uint32Array<ArrayBuffer>;
}

/**
 * The main thread's side of the JSONL writer thread: `JsonlSink` hands it each group of staged
 * lines (`StagedGroup`) and gets back, once the group is in the file, its length. The thread
 * makes the lines of the group's spans and writes them, so neither costs the main thread, which
 * is what bounds `gpupool run` when workers are fast. Groups are written in the order given.
 */
export class LineWriterThread {
  private readonly worker: Worker;
  /** Writes posted and not yet answered, in the order posted (the thread answers in that order). */
  private readonly waiting: { position: number; resolve: (written: WrittenGroup) => void; reject: (err: Error) => void }[] = [];
  private failure?: Error;
  /**
   * Settles once the thread runs, or rejects if it could not start (its module missing from an
   * install): the run awaits it before starting workers, so such a run stops at once, with a
   * message that says so, and not at its first write.
   */
  readonly started: Promise<void>;

  /** `entry`: the thread's module beside this one (tests name one that does not exist). */
  constructor(entry = 'jsonl-writer-thread') {
    this.worker = startModuleThread(import.meta.url, entry, null);
    let ready: () => void = () => {};
    // `ready` is the thread's first message, posted once its module has loaded ('online' comes
    // before that, so it would not tell a missing module).
    this.started = new Promise<void>((resolve, reject) => {
      ready = resolve;
      this.worker.once('error', reject);
      this.worker.once('exit', (code) => reject(new Error(`it exited (code ${code}) as it started`)));
    });
    this.started.catch(() => undefined); // a rejection nobody awaits is still the thread's failure (see fail)
    // Held open until it has started: a run awaits that before anything else holds the process.
    void this.started.then(this.settledStart, this.settledStart);
    this.worker.on('message', (reply: WriteReply) => {
      if (reply.kind === 'ready') return ready();
      const next = this.waiting.shift();
      if (!next) return;
      if (this.waiting.length === 0) this.worker.unref();
      if (reply.kind === 'error') next.reject(rebuildError(reply.error));
      else if (reply.position !== next.position) this.fail(new Error(`the JSONL writer thread answered for the group at ${reply.position}, not ${next.position}`), next);
      else next.resolve({ length: reply.length, bytes: Buffer.from(reply.bytes.buffer, reply.bytes.byteOffset, reply.bytes.byteLength), spans: new Float64Array(reply.spans.buffer as ArrayBuffer), bounds: new Uint32Array(reply.bounds.buffer as ArrayBuffer) });
    });
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', this.exitedEarly);
    // After that, held open only while a write waits (see `write`): a run that fails before its
    // sink is closed still exits.
  }

  private readonly settledStart = () => {
    if (this.waiting.length === 0) this.worker.unref();
  };

  /**
   * Writes the group's lines into `fd` at `position`. The group's arrays move to the thread:
   * the caller must not touch them again (they come back, whole). Each must own its memory
   * (`Buffer.allocUnsafeSlow`, a typed array of its own or a view of one), not share Node's pool.
   */
  write(fd: number, position: number, group: StagedGroup): Promise<WrittenGroup> {
    if (this.failure) return Promise.reject(this.failure);
    const request: WriteRequest = { fd, position, bytes: group.bytes, used: group.used, spans: group.spans, bounds: group.bounds };
    return new Promise<WrittenGroup>((resolve, reject) => {
      // Queued only once posted: a post that throws must not leave a waiter that a later answer would be matched to.
      this.worker.postMessage(request, [group.bytes.buffer, group.spans.buffer, group.bounds.buffer] as ArrayBuffer[]);
      if (this.waiting.length === 0) this.worker.ref();
      this.waiting.push({ position, resolve, reject });
    });
  }

  /** Ends the thread; a write still waiting is failed. */
  async close(): Promise<void> {
    this.worker.off('exit', this.exitedEarly);
    await this.worker.terminate();
    this.fail(new Error('the JSONL writer thread was closed before the write ended'));
  }

  private readonly exitedEarly = (code: number) => this.fail(new Error(`the JSONL writer thread exited (code ${code}) while gpupool was writing its output`));

  private fail(err: Error, also?: { reject: (err: Error) => void }): void {
    this.failure ??= err;
    also?.reject(this.failure);
    for (const w of this.waiting.splice(0)) w.reject(this.failure);
    this.worker.unref();
  }
}
