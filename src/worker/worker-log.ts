import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { makeFolderFor } from '../store/make-directories.js';

const TAIL_BYTES = 4096;

/**
 * Captures a worker's stdout/stderr into its log file (and, verbose, to the terminal with a
 * prefix), keeping the last few KiB of stderr for error messages.
 */
export class WorkerLog {
  private readonly file: fs.WriteStream;
  private tail = '';

  constructor(readonly filePath: string, private readonly echo?: { prefix: string; out: NodeJS.WritableStream }) {
    makeFolderFor(path.dirname(filePath), "the workers' logs");
    this.file = fs.createWriteStream(filePath, { flags: 'a' });
    // A log that cannot be written (disk full) must not take the run down with an unhandled
    // 'error': the stream stops, the stderr tail stays in memory for messages, and the journal
    // on the same disk fails its next commit with GPUPOOL_E_DISK_FULL, a clear stop.
    this.file.on('error', () => undefined);
  }

  attach(stream: Readable | null, isStderr: boolean): void {
    if (!stream) return;
    let partial = '';
    stream.on('data', (chunk: Buffer) => {
      this.file.write(chunk);
      if (isStderr) this.tail = (this.tail + chunk.toString('utf8')).slice(-TAIL_BYTES);
      if (this.echo) {
        const lines = (partial + chunk.toString('utf8')).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) this.echo.out.write(`${this.echo.prefix} ${line}\n`);
      }
    });
  }

  note(line: string): void {
    this.file.write(`[gpupool ${new Date().toISOString()}] ${line}\n`);
  }

  /** The end of what the worker wrote to stderr, trimmed to whole lines. */
  stderrTail(maxLines = 15): string {
    return this.tail.trimEnd().split('\n').slice(-maxLines).join('\n');
  }

  close(): void {
    this.file.end();
  }
}
