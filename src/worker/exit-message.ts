/** Where the end of a process's stderr starts in its exit message. */
const STDERR_MARK = 'stderr:\n';

/**
 * A worker's or replica's exit in words: what gpupool knows (`notes`, e.g. the fatal error it
 * answered, then `worker X exited with code 1`), then the end of its stderr on lines of their
 * own. Item errors and logs keep it whole; {@link exitSummary} makes the one console line.
 */
export function exitMessage(notes: readonly (string | undefined)[], stderrTail: string): string {
  return [...notes, stderrTail ? `${STDERR_MARK}${stderrTail}` : ''].filter(Boolean).join('; ');
}

/**
 * One line for an exit message: the notes (first line), the last meaningful line of its
 * stderr (the exception, `RuntimeError: …`, rather than a traceback frame), and where the
 * whole log is. Its first line alone ended in a dangling `stderr:`, the cause cut off.
 */
export function exitSummary(message: string, logFile?: string): string {
  const at = message.startsWith(STDERR_MARK) ? 0 : message.indexOf(`; ${STDERR_MARK}`);
  const notes = (at < 0 ? message : message.slice(0, at)).split('\n')[0];
  const cause = at < 0 ? undefined : lastMeaningfulLine(message.slice(message.indexOf(STDERR_MARK, at) + STDERR_MARK.length));
  // The fatal error the worker answered is often the same exception its traceback ends with
  // (its type may be named otherwise: `Fatal: m` there, `gpupool.errors.Fatal: m` here). Only a
  // note that ends with the cause's text says it: any place in the notes was taken, and the
  // cause of a worker dying of `KeyError: 0` was left out as said by 'worker m/cpu:0/0'.
  const colon = cause === undefined ? -1 : cause.indexOf(': ');
  const said = cause !== undefined && `${notes};`.includes(colon < 0 ? `${cause};` : `: ${cause.slice(colon + 2)};`);
  const parts = [notes, cause !== undefined && !said ? `stderr ends: ${cause}` : undefined].filter(Boolean);
  return `${parts.join('; ')}${logFile ? ` (log: ${logFile})` : ''}`;
}

/**
 * The line that says what went wrong: the last that is not blank, not indented (traceback
 * frames and source lines are: Python's `  File …`, Node's `    at …`, Java's `\tat …`) and
 * not Node's closing `Node.js v20.1.0`. The last non-blank line when every line is such.
 */
function lastMeaningfulLine(stderr: string): string | undefined {
  const lines = stderr.split('\n').map((l) => l.trimEnd()).filter((l) => l.trim() !== '');
  const meaningful = lines.filter((l) => !/^\s/.test(l) && !/^Node\.js v\d/.test(l));
  return (meaningful.at(-1) ?? lines.at(-1))?.trim();
}
