import os from 'node:os';
import { heldBackNow, inputDrift, type HeldBackLine, type InputDrift } from '../run/index.js';
import { readJournalStatus, stateDirFor, type JournalStatus } from '../store/index.js';
import type { ClusterJob } from './cluster-job.js';

/** The Redis journal's meta key that holds the submitter's host, for a finished job (no longer registered). */
export const SUBMITTER_HOST_META = 'submitterHost';

/** A submit job's input, as `gpupool status --redis` can check it. */
export type JobInputCheck =
  /** Changed since the journal took it (undefined from {@link checkJobInput} when the same). */
  | { readonly drift: InputDrift; readonly finished: boolean }
  /** The same, but its last line is left for the next submit: no line end, and it may be unfinished. */
  | { readonly heldBack: HeldBackLine }
  /** It lies on the submitter's host, not this one: only there can it be read. */
  | { readonly notChecked: string };

/**
 * Whether a job's input (a JSONL file, a folder or glob) changed since its journal took it, and
 * whether the same `gpupool submit` will resume or refuse it: the check `gpupool status OUTPUT`
 * makes, for a job seen through Redis. The input is a path on the submitter's host, so it is
 * checked only there. `journal` is the Redis journal's status; a SQLite journal is read from
 * the submitter's state dir. Undefined when the input is the same, is stdin, or no journal holds
 * it, and for a finished job whose submitter did not keep its host (before gpupool kept it).
 */
export async function checkJobInput(job: ClusterJob, journal: JournalStatus | null): Promise<JobInputCheck | undefined> {
  const identity = job.description.inputIdentity;
  if (typeof identity !== 'string' || !/^files?:/.test(identity)) return undefined;
  // A finished job no longer registered, from a submitter that did not keep its host.
  if (job.submitter.host === '') return undefined;
  if (job.submitter.host !== os.hostname()) return { notChecked: `its input lies on ${job.submitter.host}, not here: run this status there to check it` };
  let stateDir: string | undefined;
  let status = journal;
  if (job.journal === 'sqlite') {
    const output = job.description.output;
    stateDir = job.stateDir ?? (typeof output === 'string' ? stateDirFor(output) : undefined);
    status = stateDir === undefined ? null : safely(() => readJournalStatus(stateDir!));
  }
  // A journal there of another job (a `gpupool run` into the same output since) says nothing of this one's input.
  if (status === null || !sameInput(status.description, job.description)) return undefined;
  const drift = await inputDrift(status.description, status.meta, stateDir);
  if (drift) return { drift, finished: status.finished };
  const heldBack = heldBackNow(status.description);
  return heldBack && { heldBack };
}

function sameInput(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  return a.inputIdentity === b.inputIdentity && a.output === b.output && a.model === b.model;
}

/** A journal that cannot be read here (moved, damaged, another version's) says nothing of the input. */
function safely(read: () => JournalStatus | null): JournalStatus | null {
  try {
    return read();
  } catch {
    return null;
  }
}
