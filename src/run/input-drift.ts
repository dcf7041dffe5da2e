import fs from 'node:fs';
import { GpupoolError } from '../errors/index.js';
import { describedShard, shardOwns, type Shard } from './shard.js';
import { fileSizeAndState, INPUT_DIGEST_META, jsonlFileContinues, openSource, heldBackWhere, stateBytes, unfinishedLastLine, type HeldBackLine, type InputDigest } from './sources/index.js';

/** A job's input as it is now, against the state its journal holds, and what the next run will do with it. */
export interface InputDrift {
  readonly then: string;
  /** The input's state now, or why it cannot be had ("gone", "unreadable: EACCES"). */
  readonly now: string;
  /** True: the next run resumes it (inputs were only added after its last); else why it will refuse it. */
  readonly resumes: true | string;
  /** What a run that resumes it runs: "the lines added after its last", "the files …" (empty where none resumes it). */
  readonly runs: string;
  /** `runs` holds every input not run yet (a JSONL file whose last run stopped before its end), not only those added. */
  readonly runsAllNotRun?: boolean;
  /** The next run takes the journal to where its files are now (the folder changed in the middle; see `FileSource.remapFrom`). */
  readonly byName?: boolean;
}

/**
 * For `gpupool status`, which reads only the journal: whether a job's input changed since its
 * journal last took it (lines or files added, an edit, the input gone), and whether the next run
 * will resume it, checked as that run will check it. A JSONL file: `meta` holds the digest of
 * what ran, and the check reads that much of the file. A folder or glob: it is walked again, as a
 * run walks it, leaving out the job's own output and journal (`stateDir`). Undefined when it is
 * the same, and for stdin, which cannot be known.
 */
export async function inputDrift(description: Record<string, unknown>, meta: Record<string, unknown>, stateDir: string | undefined): Promise<InputDrift | undefined> {
  const identity = description.inputIdentity;
  const then = description.inputState;
  if (typeof identity !== 'string' || typeof then !== 'string') return undefined;
  if (identity.startsWith('file:')) return jsonlFileDrift(identity.slice('file:'.length), then, meta);
  if (identity.startsWith('files:')) {
    const own = [description.output, stateDir].filter((p): p is string => typeof p === 'string');
    const shard = describedShard(description);
    // As `jobIdentity` has it: by position, a shard's journal is never taken to files that moved.
    const remapIn = shard === undefined || shard.by === 'name' ? stateDir : undefined;
    return folderDrift(identity.slice('files:'.length).replace(OWN_FILES_MARK, ''), then, own, shard?.by === 'name' ? shard : undefined, remapIn);
  }
  return undefined;
}

/** What `FileSource.identity` adds where the run's own files lie in the folder. */
const OWN_FILES_MARK = / \(own output left out\)$/;

function jsonlFileDrift(file: string, then: string, meta: Record<string, unknown>): InputDrift | undefined {
  try {
    const { size, state } = fileSizeAndState(file);
    if (state === then) return undefined;
    const digest = meta[INPUT_DIGEST_META] as Partial<InputDigest> | undefined;
    const continues = jsonlFileContinues(file, size, then, digest);
    // A run stopped before the end ran the lines up to its digest's bytes only: those after may have changed too.
    const partial = typeof digest?.bytes === 'number' && digest.bytes < (stateBytes(then) ?? 0);
    const runs = partial ? 'the lines after those that ran' : 'the lines added after its last';
    return { then, now: state, resumes: continues === true || (continues === false ? 'it is not the file it was' : continues), runs, runsAllNotRun: partial };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { then, now: code === 'ENOENT' ? 'gone' : `unreadable: ${code ?? (err as Error).message}`, resumes: 'a run needs it back as it was', runs: '' };
  }
}

async function folderDrift(where: string, then: string, skip: string[], shardByName: Shard | undefined, remapIn: string | undefined): Promise<InputDrift | undefined> {
  let source;
  try {
    source = await openSource(where, '', { skip, shardByName });
  } catch (err) {
    const gone = err instanceof GpupoolError && err.code === 'GPUPOOL_E_INPUT_NOT_FOUND';
    return { then, now: gone ? 'gone' : `unreadable: ${(err as Error).message}`, resumes: 'a run needs it back as it was', runs: '' };
  }
  try {
    const now = source.state;
    if (now === undefined || now === then) return undefined;
    const continues = source.continues?.(then, {}) ?? false;
    const remap = continues !== true && remapIn !== undefined ? source.remapFrom?.(remapIn, then) : undefined;
    if (remap !== undefined) {
      // Matched through, as the run will: a kept listing that is damaged makes the run refuse.
      try {
        remap.forEachPair(() => undefined);
      } catch (err) {
        return { then, now, resumes: (err as Error).message, runs: '' };
      }
      return { then, now, resumes: true, runs: 'by file name the files it did not run (added, or renamed: a renamed file is a new one); results of files no longer there stay in the output', byName: true };
    }
    return { then, now, resumes: continues === true || (continues === false ? 'it is not the folder it was' : continues), runs: 'the files added after its last' };
  } finally {
    source.close?.();
  }
}

/** Whether the input is there now (`now` is a state, "N bytes, …" or "N files, …", not "gone" or "unreadable: …"). */
export function inputIsThere(drift: InputDrift): boolean {
  return /^\d+ (bytes|files?),/.test(drift.now);
}

/** `status`'s line for a changed input: what changed and what the same command will do with it. */
export function describeDrift(drift: InputDrift, finished: boolean): string {
  const then = JSON.stringify(drift.then);
  if (!inputIsThere(drift)) return `input: ${drift.now} since the journal took it (${then}): ${drift.resumes}`;
  // An unfinished job also runs what it had not run yet.
  const runs = finished || drift.runsAllNotRun === true || drift.byName === true ? drift.runs : `the inputs it had not run yet and ${drift.runs}`;
  const next = drift.resumes === true ? `the same command resumes it and runs ${runs}` : `the same command will refuse it: ${drift.resumes}`;
  return `input: changed since the journal took it (${then} then, ${JSON.stringify(drift.now)} now): ${next}`;
}

/** `status --json`'s fields for a changed input. */
export function driftFields(drift: InputDrift): { inputNow: string; inputResumes: boolean; inputResumesByName?: true; inputRefusal?: string } {
  return { inputNow: drift.now, inputResumes: drift.resumes === true, ...(drift.byName === true && { inputResumesByName: true }), ...(drift.resumes === true ? {} : { inputRefusal: drift.resumes }) };
}

/**
 * A JSONL input's last line that its runs leave for the next (see `unfinishedLastLine`), where
 * the file is as the journal took it (once it changed, `inputDrift` says what the next run does).
 */
export function heldBackNow(description: Record<string, unknown>): HeldBackLine | undefined {
  const identity = description.inputIdentity;
  if (typeof identity !== 'string' || !identity.startsWith('file:')) return undefined;
  const file = identity.slice('file:'.length);
  try {
    const { size, state } = fileSizeAndState(file);
    if (state !== description.inputState) return undefined;
    const tail = unfinishedLastLine(file, size);
    if (tail?.blank !== false) return undefined;
    // A shard's job: only the shard whose share the line is waits for it (as the run says).
    const shard = describedShard(description);
    if (shard === undefined) return tail;
    const line = linesBefore(file, tail.at) + 1;
    return shardOwns(shard, line - 1) ? { ...tail, line } : undefined;
  } catch {
    return undefined; // gone or unreadable: inputDrift says so
  }
}

/** The line ends in the file's first `bytes` bytes: one read of them, for a sharded job's status only. */
function linesBefore(file: string, bytes: number): number {
  const buffer = Buffer.allocUnsafe(1 << 20);
  const fd = fs.openSync(file, 'r');
  let lines = 0;
  try {
    for (let at = 0; at < bytes; ) {
      const n = fs.readSync(fd, buffer, 0, Math.min(buffer.length, bytes - at), at);
      if (n === 0) break;
      for (let i = buffer.indexOf(0x0a); i !== -1 && i < n; i = buffer.indexOf(0x0a, i + 1)) lines++;
      at += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  return lines;
}

/** `status`'s line for a last line left for the next run. */
export function describeHeldBack(line: HeldBackLine): string {
  return `input: its last line (${heldBackWhere(line)}) has no line end and may be unfinished: the runs leave it for the next run; once it is written, the same command runs it`;
}
