import fs from 'node:fs';
import path from 'node:path';
import { GpupoolError } from '../errors/index.js';
import { makeFolderFor } from '../store/make-directories.js';

/** Where a run's journal goes, and whether the user chose it (`--state-dir`). */
export interface StateDirChoice {
  readonly dir: string;
  readonly given: boolean;
}

/**
 * `-o` (and the journal's folder) checked before the journal is opened or any worker starts. An
 * output that is a folder, a pipe or a socket, or the input itself (by path, link or stdin), is
 * refused by name: before, a folder was an internal error with a stack, and `-o` naming the
 * input cut the input to 0 bytes before a single item ran. A character device (`/dev/null`, to
 * throw results away) is taken with a `--state-dir`, never with a journal made under /dev. The
 * output's folder and the state dir are made here, so that one that cannot be made (no
 * permission; procfs) is said as such.
 */
export function checkOutput(output: string, input: string, stateDir?: StateDirChoice): void {
  const stat = statOf(output);
  if (stat?.isDirectory()) throw outputError(`-o ${output} is a folder: pass the path of a file (it is made if missing)`);
  if (stat?.isCharacterDevice() && stateDir && !stateDir.given) {
    throw outputError(`-o ${output} is a device: pass --state-dir for the journal, which would otherwise be made beside it (${stateDir.dir})`);
  }
  if (stat && !stat.isFile() && !stat.isCharacterDevice()) {
    throw outputError(`-o ${output} is not a regular file (a pipe, a socket or a block device): results are written at byte offsets and a run resumes from them; pass the path of a file`);
  }
  const inputStat = input === '-' ? fdStatOf(0) : statOf(input);
  if (stat?.isFile() && inputStat && stat.dev === inputStat.dev && stat.ino === inputStat.ino) {
    throw outputError(`-o ${output} is the input ${input === '-' ? '(stdin)' : `file ${input}`}: the results would overwrite it; pass another path`);
  }
  // A dangling symbolic link is written through, to its target: that target's folder must exist.
  const target = stat ? output : linkTarget(output);
  makeFolderFor(path.dirname(target), target === output ? 'the output' : `the output (${output} is a link to ${target})`);
  if (stateDir) makeFolderFor(stateDir.dir, stateDir.given ? 'the journal (--state-dir)' : 'the journal (beside the output; --state-dir puts it elsewhere)');
  // A file the run may not write is said now, not after the workers have loaded: one that exists
  // is opened for writing (never cut here); for a new one, its folder must take new files. Not
  // made here: a missing output the journal knows is refused as missing (reconcileOutput).
  try {
    if (stat) fs.closeSync(fs.openSync(output, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK));
    else fs.accessSync(path.dirname(target), fs.constants.W_OK | fs.constants.X_OK);
  } catch (err) {
    throw outputError(`cannot write the output ${output}: ${(err as Error).message}`, err);
  }
}

/**
 * `-o` as an absolute path. Refused: an empty one (it would resolve to the working folder), `-`
 * (stdout: the output is written at byte offsets and resumed from them; `-i -` is stdin, so a
 * file named `-` would surprise), and one ending in a slash (a folder meant: path.resolve drops
 * the slash and a file of that name was written).
 */
export function resolveOutput(output: string): string {
  if (output.trim() === '') throw outputError(`-o needs the path of a file, got ${JSON.stringify(output)}`);
  if (output === '-') throw outputError('-o - (stdout) is not taken: results are written to a file at byte offsets, which a run resumes from; pass the path of a file (./- for a file named "-")');
  if (/[/\\]$/.test(output)) throw outputError(`-o ${output} ends with a slash, as a folder does: pass the path of a file (it is made if missing), e.g. ${path.join(output, 'out.jsonl')}`);
  return path.resolve(output);
}

/** Where a link at `file` points (absolute), or `file` itself when it is no link. */
function linkTarget(file: string): string {
  try {
    return path.resolve(path.dirname(file), fs.readlinkSync(file));
  } catch {
    return file;
  }
}

function statOf(file: string): fs.Stats | undefined {
  try {
    return fs.statSync(file);
  } catch {
    return undefined;
  }
}

function fdStatOf(fd: number): fs.Stats | undefined {
  try {
    return fs.fstatSync(fd);
  } catch {
    return undefined;
  }
}

function outputError(message: string, cause?: unknown): GpupoolError {
  return new GpupoolError('GPUPOOL_E_OUTPUT', message, cause === undefined ? undefined : { cause });
}
