import { GpupoolError } from '../errors/index.js';
import { fileSizeAndState, INPUT_DIGEST_META, jsonlFileContinues, openSource, stateBytes, type InputDigest } from './sources/index.js';

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
}

/**
 * For `gpupool status`, which reads only the journal: whether a job's input changed since its
 * journal last took it (lines or files added, an edit, the input gone), and whether the next run
 * will resume it, checked as that run will check it. A JSONL file: `meta` holds the digest of
 * what ran, and the check reads that much of the file. A folder or glob: it is walked again, as a
 * run walks it, leaving out the job's own output and journal (`stateDir`). Undefined when it is
 * the same, and for stdin, which cannot be known.
 */
export async function inputDrift(description: Record<string, unknown>, meta: Record<string, unknown>, stateDir: string): Promise<InputDrift | undefined> {
  const identity = description.inputIdentity;
  const then = description.inputState;
  if (typeof identity !== 'string' || typeof then !== 'string') return undefined;
  if (identity.startsWith('file:')) return jsonlFileDrift(identity.slice('file:'.length), then, meta);
  if (identity.startsWith('files:')) {
    const output = typeof description.output === 'string' ? [description.output] : [];
    return folderDrift(identity.slice('files:'.length).replace(OWN_FILES_MARK, ''), then, [...output, stateDir]);
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

async function folderDrift(where: string, then: string, skip: string[]): Promise<InputDrift | undefined> {
  let source;
  try {
    source = await openSource(where, '', { skip });
  } catch (err) {
    const gone = err instanceof GpupoolError && err.code === 'GPUPOOL_E_INPUT_NOT_FOUND';
    return { then, now: gone ? 'gone' : `unreadable: ${(err as Error).message}`, resumes: 'a run needs it back as it was', runs: '' };
  }
  try {
    const now = source.state;
    if (now === undefined || now === then) return undefined;
    const continues = source.continues?.(then, {}) ?? false;
    return { then, now, resumes: continues === true || (continues === false ? 'it is not the folder it was' : continues), runs: 'the files added after its last' };
  } finally {
    source.close?.();
  }
}
