import { fileSizeAndState, INPUT_DIGEST_META, jsonlFileContinues } from './sources/index.js';

/** A JSONL job's input as it is now, against the state its journal holds, and what the next run will do with it. */
export interface InputDrift {
  readonly then: string;
  /** The file's state now, or why it cannot be had ("gone", "unreadable: EACCES"). */
  readonly now: string;
  /** True: the next run resumes it (lines were only added after its last); else why it will refuse it. */
  readonly resumes: true | string;
}

/**
 * For `gpupool status`, which reads only the journal: whether a JSONL file job's input changed
 * since its journal last took it (lines added, an edit, the file gone), and whether the next run
 * will resume it, checked as that run will check it (`meta` holds the digest of what ran; the
 * check reads that much of the file). Undefined when it is the same, and for other inputs (a
 * folder would have to be walked; stdin cannot be known).
 */
export function inputDrift(description: Record<string, unknown>, meta: Record<string, unknown>): InputDrift | undefined {
  const identity = description.inputIdentity;
  const then = description.inputState;
  if (typeof identity !== 'string' || !identity.startsWith('file:') || typeof then !== 'string') return undefined;
  const file = identity.slice('file:'.length);
  try {
    const { size, state } = fileSizeAndState(file);
    if (state === then) return undefined;
    const continues = jsonlFileContinues(file, size, then, meta[INPUT_DIGEST_META]);
    return { then, now: state, resumes: continues === true || (continues === false ? 'it is not the file it was' : continues) };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { then, now: code === 'ENOENT' ? 'gone' : `unreadable: ${code ?? (err as Error).message}`, resumes: 'a run needs it back as it was' };
  }
}
