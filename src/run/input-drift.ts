import { fileState } from './sources/index.js';

/** A JSONL job's input as it is now, against the state its journal holds. */
export interface InputDrift {
  readonly then: string;
  /** The file's state now, or why it cannot be had ("gone", "unreadable: EACCES"). */
  readonly now: string;
}

/**
 * For `gpupool status`, which reads only the journal: whether a JSONL file job's input changed
 * since its journal last took it (lines added, an edit, the file gone), so that a finished job
 * whose input grew is not shown as if nothing were left. Undefined when it is the same, and for
 * other inputs (a folder would have to be walked; stdin cannot be known).
 */
export function inputDrift(description: Record<string, unknown>): InputDrift | undefined {
  const identity = description.inputIdentity;
  const then = description.inputState;
  if (typeof identity !== 'string' || !identity.startsWith('file:') || typeof then !== 'string') return undefined;
  let now: string;
  try {
    now = fileState(identity.slice('file:'.length));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    now = code === 'ENOENT' ? 'gone' : `unreadable: ${code ?? (err as Error).message}`;
  }
  return now === then ? undefined : { then, now };
}
