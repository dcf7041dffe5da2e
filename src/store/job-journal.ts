/**
 * The journal of one job: which items are done or failed, and how many bytes of the output
 * file those results fill. It is what makes `gpupool run` resumable after kill -9 with each
 * item in the output exactly once (the protocol is in {@link JobStore.commit}).
 *
 * SQLite implements it for one machine ({@link SqliteJournal}); {@link RedisJournal}
 * implements the same verbs in Redis, for a submitter whose state must outlive its machine.
 * Methods return {@link Awaitable} so that an asynchronous backend fits: callers always
 * `await`, the SQLite backend answers synchronously.
 */
import type { SeqSet } from './seq-set.js';

export type Awaitable<T> = T | Promise<T>;

/** What makes a journal belong to one job, and how to describe that job to a person. */
export interface JobIdentity {
  /** A hash of the config fields that change results, plus the input's identity. */
  readonly fingerprint: string;
  /** Shown in errors and `gpupool status`: model, config path, input path and size… (JSON). */
  readonly description: Record<string, unknown>;
  /** The description's keys the fingerprint is made of: a mismatch names those that differ (the others are for people). */
  readonly compared?: readonly string[];
  /** What names the job where a name is needed (in Redis): the same for an input edited since, which its journal then refuses. */
  readonly key?: string;
  /** Fingerprints this job had under an earlier gpupool: a journal holding one is this job's, and takes the new one. */
  readonly formerFingerprints?: readonly string[];
  /**
   * Whether a journal with this fingerprint, description and meta (`setMeta`'s values), not
   * this job's as it is now, is this job's earlier on (its input has only grown since): it is
   * resumed and takes the new fingerprint. The description is only a hint: the fingerprint must
   * follow from it. False, or why not (a line of the refusal).
   */
  readonly continues?: (storedFingerprint: string, storedDescription: Record<string, unknown>, storedMeta: Record<string, unknown>) => boolean | string;
  /** What a person can do when the journal holds another job; by default, the CLI's `--fresh` or another output. */
  readonly mismatchRemedy?: string;
  /**
   * Where a journal's items are now, for an input whose items are known by name (a folder's
   * files), when `continues` refuses it (a file added before others, removed or renamed): a
   * journal with this fingerprint and description, this job's with another state, takes its
   * items that are still there to their new positions and forgets the others. Undefined where
   * it cannot tell (no listing of the stored state was kept); the refusal stands then. Only
   * the SQLite journal asks.
   */
  readonly remap?: (storedFingerprint: string, storedDescription: Record<string, unknown>) => SeqRemap | undefined;
}

/** The items of a journal that are items of the job now, as pairs of positions (see {@link JobIdentity.remap}). */
export interface SeqRemap {
  /** Calls `visit` once per item still there, in increasing order of both positions; throws where what tells them is damaged. */
  forEachPair(visit: (formerSeq: number, seq: number) => void): void;
}

/** What a journal holds that tells whose it is. */
export interface StoredJob {
  readonly fingerprint: string | undefined;
  readonly description: Record<string, unknown>;
  /** `setMeta`'s values. */
  readonly meta: Record<string, unknown>;
}

/**
 * Whether a journal is this job's, and how: its own fingerprint (`same`), one it had under an
 * earlier gpupool (`former`), or one it had before its input grew (`grown`: the journal is no
 * longer finished, as new items came). Undefined when it is another job's, with why its input
 * does not continue the journal's where the job can tell.
 */
export function howJournalMatches(stored: StoredJob, identity: JobIdentity): { readonly match?: 'same' | 'former' | 'grown'; readonly why?: string } {
  if (stored.fingerprint === identity.fingerprint) return { match: 'same' };
  if (stored.fingerprint === undefined) return {};
  if ((identity.formerFingerprints ?? []).includes(stored.fingerprint)) return { match: 'former' };
  const continues = identity.continues?.(stored.fingerprint, stored.description, stored.meta) ?? false;
  if (continues === true) return { match: 'grown' };
  return typeof continues === 'string' ? { why: continues } : {};
}

/**
 * How far a committed group must be on disk before `commit` returns.
 * - `'process'`: safe against the process dying (kill -9, OOM killer): the OS page cache
 *   outlives it. A power loss may roll back the last commits, never corrupt the journal.
 * - `'fsync'`: each commit is fsynced; safe against power loss as well, if the runner also
 *   fdatasyncs the output before committing.
 */
export type Durability = 'process' | 'fsync';

/** An item that failed for good, with the error to show and retry later. */
export interface FailedItem {
  readonly seq: number;
  /** An error code (`GPUPOOL_E_…` or the worker's classification). */
  readonly code: string;
  readonly message: string;
  /** The item's id as the user knows it (its key, or its line number). */
  readonly id: string | number;
}

/** One group commit: the final state of a group of items and the output length after it. */
export interface CommitGroup {
  /** Seqs whose result lines are in the output up to `outputBytes`. */
  readonly done: ArrayLike<number>;
  /**
   * Items that failed for good in this group.
   * @defaultValue []
   */
  readonly failed?: readonly FailedItem[];
  /** The output file's length in bytes once this group's lines are written. */
  readonly outputBytes: number;
}

export interface JournalCounts {
  readonly done: number;
  readonly failed: number;
}

/** What a run needs to carry on where the last one stopped. */
export interface ResumeState {
  readonly done: SeqSet;
  readonly failed: SeqSet;
  /** Truncate the output to this length: bytes past it belong to a group never committed. */
  readonly outputBytes: number;
  readonly counts: JournalCounts;
}

export interface LearnedLimit {
  readonly limit: number;
  /** Milliseconds since the epoch. */
  readonly updatedAt: number;
}

/** The process that holds (or last held, without closing) a journal. */
export interface JournalOwner {
  /** 0 in the instant between a process taking the lock and naming itself. */
  readonly pid: number;
  readonly hostname: string;
  /** Milliseconds since the epoch. */
  readonly since: number;
}

export interface FailureRecord extends FailedItem {
  /** Milliseconds since the epoch. */
  readonly failedAt: number;
}

/** What `gpupool status` shows. Times are milliseconds since the epoch. */
export interface JournalStatus {
  readonly stateDir: string;
  readonly fingerprint: string;
  readonly description: Record<string, unknown>;
  readonly counts: JournalCounts & { readonly total: number | null };
  readonly outputBytes: number;
  readonly commits: number;
  /** The first failures by seq, with their errors. */
  readonly failures: readonly FailureRecord[];
  /** model → device key → limit. */
  readonly learnedLimits: Record<string, Record<string, LearnedLimit>>;
  readonly meta: Record<string, unknown>;
  readonly startedAt: number;
  readonly updatedAt: number;
  readonly finishedAt: number | null;
  readonly finished: boolean;
  /** The live process running this job, or null when none is. */
  readonly running: JournalOwner | null;
}

export interface StatusOptions {
  /**
   * How many failures to list.
   * @defaultValue 20
   */
  readonly failureLimit?: number;
}

/**
 * How an opened journal was found: made now, this job's as it was, under a fingerprint of an
 * earlier gpupool, with its input grown, or with its items moved to where they are now
 * (`remapped`, {@link JobIdentity.remap}).
 */
export type JournalOpening = 'new' | 'same' | 'former' | 'grown' | 'remapped';

/** What a remap did: the items of the journal kept (under their new positions) and those forgotten, whose inputs are gone. */
export interface RemapCounts {
  readonly kept: JournalCounts;
  readonly forgotten: JournalCounts;
}

export interface JobStore {
  /** How it was found when opened (absent where the store does not tell). */
  readonly openedAs?: JournalOpening;
  /** With `openedAs` `remapped`: what the remap kept and forgot. */
  readonly remapped?: RemapCounts;
  /** The state this journal holds: call once after opening, before the first commit. */
  resume(): Awaitable<ResumeState>;
  /**
   * Records one group in one transaction: all of it or none of it. The runner's protocol:
   * write the group's lines to the output, fdatasync it when durability is `'fsync'`, then
   * commit with the output's new length. On resume, truncating the output to
   * `outputBytes` drops lines of a group written but never committed; their items are not
   * done, so they run again, and every item is in the output exactly once.
   *
   * A seq already done is ignored; a done seq that had failed stops being failed.
   */
  commit(group: CommitGroup): Awaitable<void>;
  /** Forgets failed items, so the next run retries them (`--retry-failed`). */
  retryFailed(): Awaitable<void>;
  /** Batch limits learned for `model`, by device key. */
  learnedLimits(model: string): Awaitable<Record<string, LearnedLimit>>;
  saveLearnedLimit(model: string, deviceKey: string, limit: number): Awaitable<void>;
  /** Stores a JSON value shown by `gpupool status` (e.g. the input's item count once known). */
  setMeta(key: string, value: unknown): Awaitable<void>;
  /** Records that every one of `totalItems` items is done or failed. */
  markFinished(totalItems: number): Awaitable<void>;
  status(options?: StatusOptions): Awaitable<JournalStatus>;
  close(): Awaitable<void>;
}

/** The name {@link JobStore} had while SQLite was its only backend. */
export type JobJournal = JobStore;
