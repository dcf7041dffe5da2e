// The state of an input (`InputSource.state`): what must be the same for a journal made from it
// to be resumed, since items are resumed by their position in the input.
import fs from 'node:fs';

/**
 * A JSONL file's state: its size and modification time. A run resumes
 * items by their position, so a file edited since its journal was made (its lines may have moved)
 * must not be resumed.
 */
export function fileState(file: string): string {
  return fileSizeAndState(file).state;
}

/** Whether the file's state is still `state` (false if it cannot be read). */
export function stillInState(file: string, state: string): boolean {
  try {
    return fileState(file) === state;
  } catch {
    return false;
  }
}

/** A JSONL file's size and {@link fileState}, from one stat. */
export function fileSizeAndState(file: string): { size: number; state: string } {
  const stat = fs.statSync(file, { bigint: true });
  return { size: Number(stat.size), state: statState(stat) };
}

/**
 * stdin's state when it is a regular file (`< items.jsonl`): which file (device and inode), where
 * reading starts in it, its size and modification time. Undefined for a pipe or a terminal, whose
 * lines cannot be known before they come: a run from a pipe trusts the same lines to come again.
 */
export function stdinState(): string | undefined {
  let stat: fs.BigIntStats;
  try {
    stat = fs.fstatSync(0, { bigint: true });
  } catch {
    return undefined;
  }
  if (!stat.isFile()) return undefined;
  // Reading starts where the descriptor stands (`{ read -r header; gpupool run -i -; } < f`): the
  // lines are numbered from there, so where that is belongs to the state. Unknown: taken as a pipe.
  const at = stdinOffset();
  return at === undefined ? undefined : `file ${stat.dev}:${stat.ino} from byte ${at}, ${statState(stat)}`;
}

/**
 * Why stdin redirected from a file (a {@link stdinState} then) does not continue a journal once
 * that file changed, even only grown or touched: what a run read from it cannot be checked again
 * (only its descriptor was given). Undefined for another kind of state.
 */
export function stdinFileRefusal(former: string): string | undefined {
  if (!former.startsWith('file ')) return undefined;
  return 'stdin read from a file is resumed only while that file keeps its size and modification time; give the file with -i to resume it once lines are added';
}

/** fd 0's offset, from /proc (Linux); undefined where it cannot be read. */
function stdinOffset(): string | undefined {
  try {
    return /^pos:\s*(\d+)$/m.exec(fs.readFileSync('/proc/self/fdinfo/0', 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

/** {@link fileState} from a stat already taken: its size and modification time. */
export function statState(stat: fs.BigIntStats): string {
  // To the nanosecond (an ISO time with nine decimals): a rewrite within the same millisecond is told apart.
  const subMs = String(stat.mtimeNs % 1_000_000n).padStart(6, '0');
  const modified = new Date(Number(stat.mtimeNs / 1_000_000n)).toISOString().replace('Z', `${subMs}Z`);
  return `${stat.size} bytes, modified ${modified}`;
}
