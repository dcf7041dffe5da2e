import type { Durability, JobIdentity } from './job-journal.js';

export interface OpenJournalOptions {
  /**
   * The folder that holds `journal.sqlite` and its lock; created when missing.
   * {@link stateDirFor} gives the default one for an output file.
   */
  readonly stateDir: string;
  /** The job this run is; a journal of another job is refused (GPUPOOL_E_JOURNAL_MISMATCH). */
  readonly identity: JobIdentity;
  /**
   * Discard whatever journal is there (even a corrupt one) and start over. The output
   * then resumes from 0 bytes.
   * @defaultValue false
   */
  readonly fresh?: boolean;
  /**
   * A journal of another job into which nothing was ever committed (a run whose workers never
   * started: a typo in `command`) is emptied and taken as new, not refused. For `gpupool run`,
   * whose journal is all there is of its job; not for a cluster submit, whose job also lives in Redis.
   * @defaultValue false
   */
  readonly renewUnused?: boolean;
  /**
   * How far a commit is on disk when it returns; see {@link Durability}.
   * @defaultValue 'process'
   */
  readonly durability?: Durability;
  /**
   * Fold the per-group records into one after this many commits, so reopening reads few
   * rows however long the run. Tuning only.
   * @defaultValue 256
   */
  readonly foldEvery?: number;
  /**
   * A cap on the journal's size in bytes: a commit that would grow it past the cap fails
   * like a full disk (GPUPOOL_E_DISK_FULL). For quotas, and for tests of a full disk.
   * @defaultValue no cap
   */
  readonly maxBytes?: number;
}
