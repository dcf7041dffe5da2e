import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { makeFolderFor } from '../store/make-directories.js';
import { AnsweredFailures } from './answered-failures.js';

const TAIL_BYTES = 4096;

/**
 * Captures a worker's stdout/stderr into its log file (and, verbose, to the terminal with a
 * prefix), keeping the last few KiB of stderr for error messages.
 */
export class WorkerLog {
  private readonly file: fs.WriteStream;
  private tail = '';
  /** The stderr line not yet ended, kept apart until it is (bounded: a progress bar never ends its line). */
  private partial = '';
  private readonly decoder = new StringDecoder('utf8');
  private readonly answered = new AnsweredFailures();

  constructor(readonly filePath: string, private readonly echo?: { prefix: string; out: NodeJS.WritableStream }) {
    makeFolderFor(path.dirname(filePath), "the workers' logs");
    this.file = fs.createWriteStream(filePath, { flags: 'a' });
    // A log that cannot be written (disk full) must not take the run down with an unhandled
    // 'error': the stream stops, the stderr tail stays in memory for messages, and the journal
    // on the same disk fails its next commit with GPUPOOL_E_DISK_FULL, a clear stop.
    this.file.on('error', () => undefined);
  }

  /** `watch` also sees every chunk (stdout: frames written there by mistake). */
  attach(stream: Readable | null, isStderr: boolean, watch?: { write(chunk: Buffer): void }): void {
    if (!stream) return;
    const echo = this.echo && new EchoLines(this.echo.prefix, this.echo.out);
    stream.on('data', (chunk: Buffer) => {
      this.file.write(chunk);
      if (isStderr) this.keepStderr(this.decoder.write(chunk));
      echo?.write(chunk);
      watch?.write(chunk);
    });
  }

  /** Whole lines go to the tail, but for the reports of batches the worker answered as failed (not why it exits). */
  private keepStderr(text: string): void {
    const lines = (this.partial + text).split('\n');
    this.partial = (lines.pop() ?? '').slice(-TAIL_BYTES);
    const kept = lines.filter((line) => !this.answered.has(line));
    if (kept.length > 0) this.tail = `${this.tail}${kept.join('\n')}\n`.slice(-TAIL_BYTES); // once a chunk: a chatty worker writes many
  }

  note(line: string): void {
    this.file.write(`[gpupool ${new Date().toISOString()}] ${line}\n`);
  }

  /** The end of what the worker wrote to stderr, trimmed to whole lines. */
  stderrTail(maxLines = 15): string {
    return (this.tail + this.partial).slice(-TAIL_BYTES).trimEnd().split('\n').slice(-maxLines).join('\n');
  }

  close(): void {
    this.file.end();
  }
}

const ECHO_LINE_MAX = 16 * 1024;

/**
 * A worker's output echoed to the terminal, each line prefixed with the worker. A line is held
 * until it ends; a progress bar redraws one line with `\r` for the whole run, so only what follows
 * its last `\r` is held (the bar as it stands), and a line longer than {@link ECHO_LINE_MAX} goes
 * out in pieces: the held text stays bounded, and is not copied again at every chunk.
 */
class EchoLines {
  private held = '';
  private readonly decoder = new StringDecoder('utf8');

  constructor(private readonly prefix: string, private readonly out: NodeJS.WritableStream) {}

  write(chunk: Buffer): void {
    const lines = (this.held + this.decoder.write(chunk)).split('\n');
    this.held = lines.pop() ?? '';
    for (const line of lines) this.out.write(`${this.prefix} ${line.slice(line.lastIndexOf('\r', line.length - 2) + 1)}\n`);
    this.held = this.held.slice(this.held.lastIndexOf('\r', this.held.length - 2) + 1); // a final \r may be a CRLF's half
    while (this.held.length > ECHO_LINE_MAX) {
      this.out.write(`${this.prefix} ${this.held.slice(0, ECHO_LINE_MAX)}\n`);
      this.held = this.held.slice(ECHO_LINE_MAX);
    }
  }
}
