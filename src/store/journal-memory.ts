import { GpupoolError } from '../errors/index.js';
import type { CommitGroup, FailedItem, JobIdentity, ResumeState } from './job-journal.js';
import { isSeq, SeqSet } from './seq-set.js';

/** Commits after which a journal folds its per-commit records of done seqs into one. */
export const DEFAULT_FOLD_EVERY = 256;

/** A commit applied to a journal's memory, before its store has it. */
export interface StagedCommit {
  /** Seqs done by this commit and not before. */
  readonly fresh: Uint32Array;
  /** Seqs that were failed and are now done. */
  readonly cleared: readonly number[];
  /** Failures to record: those of seqs not done (a failure of a done seq is stale; done wins). */
  readonly newFailures: readonly FailedItem[];
  /** Seqs of `newFailures` that were not failed before. */
  readonly added: readonly number[];
  /** Write the whole done set as one record (replacing the others) instead of `fresh`. */
  readonly fold: boolean;
  readonly outputBytes: number;
}

/**
 * What the SQLite and the Redis journal keep in memory and decide alike: the done and failed
 * sets, the output length, and when to fold. A commit is staged here first (a fold encodes the
 * whole set), written by the store, then settled, or undone if the store refused it.
 */
export class JournalMemory {
  readonly done = new SeqSet();
  readonly failed = new SeqSet();
  outputBytes = 0;
  /** Records of done seqs the store holds. */
  records = 0;

  constructor(readonly foldEvery: number) {}

  resumeState(): ResumeState {
    return {
      done: this.done.clone(),
      failed: this.failed.clone(),
      outputBytes: this.outputBytes,
      counts: { done: this.done.size, failed: this.failed.size },
    };
  }

  /** @throws GpupoolError GPUPOOL_E_INTERNAL for a bad seq or output length, with nothing changed. */
  stage(group: CommitGroup): StagedCommit {
    const { outputBytes } = group;
    if (!Number.isSafeInteger(outputBytes) || outputBytes < 0) {
      throw new GpupoolError('GPUPOOL_E_INTERNAL', `commit: outputBytes must be an integer ≥ 0, got ${outputBytes}`);
    }
    const failures = group.failed ?? [];
    for (const f of failures) assertSeq(f.seq, 'commit: failed seq');
    const { done } = group;
    for (let i = 0; i < done.length; i++) assertSeq(done[i], 'commit: done seq');

    // Run by run (spans make most of a group consecutive); `fresh` keeps the order of `done`
    // within each run, and runs in the order given.
    const all = new Uint32Array(done.length);
    let k = 0;
    for (let i = 0; i < done.length; ) {
      let j = i + 1;
      while (j < done.length && done[j] === done[j - 1] + 1) j++;
      k = this.done.addRangeCollect(done[i], done[j - 1] + 1, all, k);
      i = j;
    }
    const fresh = all.subarray(0, k);
    const cleared: number[] = [];
    if (this.failed.size > 0) for (let i = 0; i < fresh.length; i++) if (this.failed.delete(fresh[i])) cleared.push(fresh[i]);
    const newFailures = failures.filter((f) => !this.done.has(f.seq));
    const added = newFailures.filter((f) => this.failed.add(f.seq)).map((f) => f.seq);
    const fold = fresh.length > 0 && this.records >= this.foldEvery;
    return { fresh, cleared, newFailures, added, fold, outputBytes };
  }

  /** The store has the commit. */
  settle(staged: StagedCommit): void {
    if (staged.fold) this.records = 1;
    else if (staged.fresh.length > 0) this.records++;
    this.outputBytes = staged.outputBytes;
  }

  /** The store refused the commit: memory is as it was before `stage`. */
  undo(staged: StagedCommit): void {
    for (let i = 0; i < staged.fresh.length; i++) this.done.delete(staged.fresh[i]);
    for (const seq of staged.cleared) this.failed.add(seq);
    for (const seq of staged.added) this.failed.delete(seq);
  }

  /** Why the progress record's counts (as stored) disagree with the loaded records, or undefined when they agree. */
  countsDisagree(done: number | string, failed: number | string): string | undefined {
    if (Number(done) === this.done.size && Number(failed) === this.failed.size) return undefined;
    return `counts disagree: progress says ${done} done and ${failed} failed, the records hold ${this.done.size} and ${this.failed.size}`;
  }
}

/** The identity and fold period an opener was given, checked; `opener` names it in the error. */
export function checkJournalOptions(opener: string, identity: JobIdentity | undefined, foldEvery = DEFAULT_FOLD_EVERY): number {
  if (typeof identity?.fingerprint !== 'string' || identity.fingerprint === '') {
    throw new GpupoolError('GPUPOOL_E_INTERNAL', `${opener}: identity.fingerprint must be a non-empty string, got ${JSON.stringify(identity?.fingerprint)}`);
  }
  if (!Number.isInteger(foldEvery) || foldEvery < 1) {
    throw new GpupoolError('GPUPOOL_E_INTERNAL', `${opener}: foldEvery must be an integer ≥ 1, got ${foldEvery}`);
  }
  return foldEvery;
}

export function assertSeq(seq: number, what: string): void {
  if (!isSeq(seq)) throw new GpupoolError('GPUPOOL_E_INTERNAL', `${what} must be an integer in [0, 4294967294], got ${String(seq)}`);
}

/** A failed item's id as stored: a number or a string. */
export function itemId(f: FailedItem): string | number {
  return typeof f.id === 'number' || typeof f.id === 'string' ? f.id : String(f.id);
}
