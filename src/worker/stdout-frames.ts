import { StringDecoder } from 'node:string_decoder';

/**
 * A line of stdout that starts as a protocol message does: `{"type": "ready"`, or as Python
 * prints a dict, `{'type': 'result'`. The mistake of a worker written by hand: its frames went to
 * stdout, where gpupool never reads them, and its start (10 minutes) or its batch
 * (batch.deadline) waited in silence.
 */
const FRAME_ON_STDOUT = /^\s*\{\s*["']type["']\s*:\s*["'](hello|ready|result|result_lines|result_array|failed|fatal)["']/;

/** The longest start of a line looked at: a frame's type comes first. */
const LINE_START = 256;

/** Watches a worker's stdout, line by line, for the first line that looks like a protocol frame. */
export class StdoutFrames {
  private partial = '';
  private readonly decoder = new StringDecoder('utf8');
  private found = false;

  constructor(private readonly onFrame: (type: string, line: string) => void) {}

  write(chunk: Buffer): void {
    if (this.found) return;
    const lines = (this.partial + this.decoder.write(chunk)).split('\n');
    // Only a line's start matters: what is held of an unfinished line stays bounded.
    this.partial = (lines.pop() ?? '').slice(0, LINE_START);
    for (const line of lines) {
      const m = FRAME_ON_STDOUT.exec(line.slice(0, LINE_START));
      if (m) {
        this.found = true;
        return this.onFrame(m[1], line.slice(0, 120));
      }
    }
  }
}
