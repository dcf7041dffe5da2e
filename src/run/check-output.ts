import fs from 'node:fs';
import path from 'node:path';
import { GpupoolError } from '../errors/index.js';
import { makeDirectories } from '../store/make-directories.js';

/**
 * `-o` (and the journal's folder) checked before the journal is opened or any worker starts: an
 * output that is a folder, a pipe or a device, or that is the input file itself, is refused by
 * name. Before, a folder was an internal error with a stack, and `-o` naming the input file cut
 * the input to 0 bytes before a single item ran. The output's folder and the state dir are made
 * here, so that one that cannot be made (no permission; procfs) is said as such.
 */
export function checkOutput(output: string, input: string, stateDir?: string): void {
  const stat = statOf(output);
  if (stat?.isDirectory()) throw outputError(`-o ${output} is a folder: pass the path of a file (it is made if missing)`);
  if (stat && !stat.isFile()) {
    throw outputError(`-o ${output} is not a regular file (a pipe or a device): results are written at byte offsets and a run resumes from them; pass the path of a file`);
  }
  const inputStat = input === '-' ? undefined : statOf(input);
  if (stat && inputStat && stat.dev === inputStat.dev && stat.ino === inputStat.ino) {
    throw outputError(`-o ${output} is the input file ${input}: the results would overwrite it; pass another path`);
  }
  makeFolderFor(path.dirname(output), 'the output');
  if (stateDir !== undefined) makeFolderFor(stateDir, 'the journal (--state-dir)');
  // A file the run may not write is said now, not after the workers have loaded: one that exists
  // is opened for writing (never cut here); for a new one, its folder must take new files. Not
  // made here: a missing output the journal knows is refused as missing (reconcileOutput).
  try {
    if (stat) fs.closeSync(fs.openSync(output, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK));
    else fs.accessSync(path.dirname(output), fs.constants.W_OK | fs.constants.X_OK);
  } catch (err) {
    throw outputError(`cannot write the output ${output}: ${(err as Error).message}`, err);
  }
}

/** `-o` as an absolute path; an empty one is refused (it would resolve to the working folder). */
export function resolveOutput(output: string): string {
  if (output.trim() === '') throw outputError(`-o needs the path of a file, got ${JSON.stringify(output)}`);
  return path.resolve(output);
}

/** Makes `dir` (mkdir -p); one that cannot be made is GPUPOOL_E_OUTPUT naming it and `what` it is for. */
export function makeFolderFor(dir: string, what: string): void {
  try {
    makeDirectories(dir);
  } catch (err) {
    throw outputError(`cannot make the folder ${dir} for ${what}: ${(err as Error).message}`, err);
  }
}

function statOf(file: string): fs.Stats | undefined {
  try {
    return fs.statSync(file);
  } catch {
    return undefined;
  }
}

function outputError(message: string, cause?: unknown): GpupoolError {
  return new GpupoolError('GPUPOOL_E_OUTPUT', message, cause === undefined ? undefined : { cause });
}
