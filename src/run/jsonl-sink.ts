import fs from 'node:fs';
import type { ItemFailure, ItemSink, WorkItem } from '../scheduler/index.js';

/** What the sink tells the journal after each group is in the output file. */
export interface GroupCommit {
  readonly done: number[];
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
  /** Called per finished item (after it is buffered), for progress and admission. */
  readonly onItem?: (ok: boolean, device: string | undefined, item: WorkItem) => void;
  /** Called once a group is durable in the file and journal: these items no longer occupy memory. */
  readonly onCommitted?: (items: number) => void;
  /** Call with the first write error (disk full…); the run stops. */
  readonly onError?: (err: Error) => void;
}

/**
 * Writes results as JSONL in the order they finish, in groups: one write() per group,
 * then the group's journal commit, so a kill -9 between the two is undone on resume by
 * truncating the file to the last committed length.
 */
export class JsonlSink implements ItemSink {
  private fd: number;
  private bytes: number;
  private lines: string[] = [];
  private doneSeqs: number[] = [];
  private failedItems: GroupCommit['failed'] = [];
  private timer?: NodeJS.Timeout;
  private writing: Promise<void> = Promise.resolve();
  private error?: Error;
  succeeded = 0;
  failures = 0;
  /** A group is written once it holds this many items (or after flushEveryMs). */
  flushItems: number;

  constructor(private readonly options: JsonlSinkOptions) {
    this.fd = fs.openSync(options.path, fs.constants.O_WRONLY | fs.constants.O_CREAT);
    fs.ftruncateSync(this.fd, options.startBytes);
    this.bytes = options.startBytes;
    this.flushItems = options.flushItems ?? 8192;
  }

  done(item: WorkItem, output: unknown, device: string): void {
    this.doneJson(item, JSON.stringify(output) ?? 'null', device);
  }

  /** The output line is spliced from the worker's JSON text: no parse, no stringify. */
  doneJson(item: WorkItem, outputJson: string, device: string): void {
    const id = typeof item.id === 'number' ? String(item.id) : JSON.stringify(item.id);
    this.lines.push(`{"id":${id},"output":${outputJson}}\n`);
    this.doneSeqs.push(item.seq);
    this.succeeded++;
    this.options.onItem?.(true, device, item);
    this.maybeFlush();
  }

  failed(item: WorkItem, failure: ItemFailure, device: string | undefined): void {
    this.lines.push(`${JSON.stringify({ id: item.id, error: { code: failure.code, message: failure.message } })}\n`);
    this.failedItems.push({ seq: item.seq, id: item.id, code: failure.code, message: failure.message });
    this.failures++;
    this.options.onItem?.(false, device, item);
    this.maybeFlush();
  }

  /** Writes and commits everything buffered. */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.writing = this.writing.then(() => this.writeGroup());
    await this.writing;
    if (this.error) throw this.error;
  }

  async close(): Promise<void> {
    await this.flush();
    fs.closeSync(this.fd);
  }

  private maybeFlush(): void {
    if (this.lines.length >= this.flushItems) {
      void this.flush().catch(() => undefined);
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.flush().catch(() => undefined);
      }, this.options.flushEveryMs ?? 50);
    }
  }

  private async writeGroup(): Promise<void> {
    if (this.lines.length === 0 || this.error) return;
    const text = this.lines.join('');
    const group = { done: this.doneSeqs, failed: this.failedItems };
    const count = this.lines.length;
    this.lines = [];
    this.doneSeqs = [];
    this.failedItems = [];
    const buf = Buffer.from(text, 'utf8');
    try {
      await writeAll(this.fd, buf, this.bytes);
      this.bytes += buf.length;
      await this.options.commit?.({ ...group, outputBytes: this.bytes });
    } catch (err) {
      this.error = err as Error;
      this.options.onError?.(this.error);
      return;
    }
    this.options.onCommitted?.(count);
  }
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
