import os from 'node:os';
import { inputDrift, type InputDrift } from '../run/index.js';
import { readJournalStatus, stateDirFor, type JournalStatus } from '../store/index.js';
import type { ClusterJob } from './cluster-job.js';

/** A submit job's input, as `gpupool status --redis` can check it. */
export type JobInputCheck =
  /** Changed since the journal took it (undefined from {@link checkJobInput} when the same). */
  | { readonly drift: InputDrift; readonly finished: boolean }
  /** It lies on the submitter's host, not this one: only there can it be read. */
  | { readonly notChecked: string };

/**
 * Whether a job's input (a JSONL file, a folder or glob) changed since its journal took it, and
 * whether the same `gpupool submit` will resume or refuse it: the check `gpupool status OUTPUT`
 * makes, for a job seen through Redis. The input is a path on the submitter's host, so it is
 * checked only there. `journal` is the Redis journal's status; a SQLite journal is read from
 * the submitter's state dir. Undefined when the input is the same, is stdin, or no journal holds
 * it, and for a finished job no longer registered (its host is not known).
 */
export async function checkJobInput(job: ClusterJob, journal: JournalStatus | null): Promise<JobInputCheck | undefined> {
  const identity = job.description.inputIdentity;
  if (typeof identity !== 'string' || !/^files?:/.test(identity)) return undefined;
  // A finished job no longer registered: which host submitted it is not kept.
  if (job.submitter.host === '') return undefined;
  if (job.submitter.host !== os.hostname()) return { notChecked: `its input lies on ${job.submitter.host}, not here: run this status there to check it` };
  let stateDir: string | undefined;
  let status = journal;
  if (job.journal === 'sqlite') {
    const output = job.description.output;
    stateDir = job.stateDir ?? (typeof output === 'string' ? stateDirFor(output) : undefined);
    status = stateDir === undefined ? null : safely(() => readJournalStatus(stateDir!));
  }
  if (status === null) return undefined;
  const drift = await inputDrift(status.description, status.meta, stateDir);
  return drift && { drift, finished: status.finished };
}

/** A journal that cannot be read here (moved, damaged, another version's) says nothing of the input. */
function safely(read: () => JournalStatus | null): JournalStatus | null {
  try {
    return read();
  } catch {
    return null;
  }
}
