/**
 * The header the Python SDK writes to stderr before the traceback of a batch it answered as
 * failed and went on from (kind `batch` or `oom`). A `fatal` one ends the worker: that one is its
 * exit's cause, and stays. Since the header names how many lines follow (`…, 5 lines:`), the
 * report is left out by that count: an exception whose message has several lines ended it at its
 * first, and the rest was named as the cause of a later crash. Without a count (an older SDK),
 * the report's end is read from its shape, as below. The header may end a line it did not start:
 * a progress bar (tqdm) redraws itself with `\r` and no line end, and the header that follows
 * is written onto its line (`\r 3/10 itemsgpupool: batch 5 failed …`); that line is the header's.
 */
const ANSWERED = /gpupool: batch \S+ failed \((?:batch|oom)\)(?:, (\d+) lines?)?:$/;
const TRACEBACK = 'Traceback (most recent call last):';
const CHAINED = /^(?:During handling of the above exception, another exception occurred:|The above exception was the direct cause of the following exception:)$/;
/**
 * A line of an exception group's traceback (Python 3.11+): every line of it, its exception lines
 * included, is indented behind a `+` or `|` ('  + Exception Group Traceback …', '  | ValueError: a',
 * '    +------'), so no unindented line ends it.
 */
const GROUP = /^\s+[+|]/;

/**
 * Tells, line by line, which lines of a worker's stderr are such reports: the header, the
 * traceback (frames are indented), and the exception line that ends it, with the tracebacks
 * chained to it. A worker's exit message ends with its stderr and names its last line as the
 * cause; a worker that answered a batch's exception and later died without a word was said to
 * have crashed of that exception (`stderr ends: ValueError: …` of another item). The log keeps
 * every line; only the stderr kept for exit messages leaves these out.
 */
export class AnsweredFailures {
  private state: 'outside' | 'traceback' | 'group' | 'after' | 'counted' = 'outside';
  /** With `counted`: the report's lines still to come. */
  private left = 0;

  /** Whether `line` (without its line end) belongs to the report of an answered failure. */
  has(line: string): boolean {
    if (this.state === 'counted') {
      if (--this.left === 0) this.state = 'outside';
      return true;
    }
    if (this.state === 'group') {
      if (GROUP.test(line)) return true;
      // The group's last line came before: what follows is read as after an exception line (a
      // chained traceback, or the report's end). It was taken for the report's exception line,
      // and a genuine crash's traceback that followed was hidden whole, up to its own exception.
      this.state = 'after';
    }
    if (this.state === 'after') {
      if (line.trim() === '') return true;
      if (CHAINED.test(line)) {
        this.state = 'traceback';
        return true;
      }
      this.state = 'outside';
    }
    if (this.state === 'outside') {
      const header = ANSWERED.exec(line);
      if (!header) return false;
      const count = header[1] === undefined ? undefined : Number(header[1]);
      if (count === undefined) this.state = 'traceback';
      else if (count > 0) [this.state, this.left] = ['counted', count];
      return true;
    }
    if (GROUP.test(line)) {
      this.state = 'group';
      return true;
    }
    // A long traceback is cut at its start by the SDK, which marks the cut with "…".
    if (line.trim() === '' || /^\s/.test(line) || line.startsWith('…') || line === TRACEBACK || CHAINED.test(line)) return true;
    this.state = 'after'; // the exception line: the report ends here, unless a chained traceback follows
    return true;
  }
}
