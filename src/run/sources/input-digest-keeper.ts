import type { Awaitable, JobStore } from '../../store/index.js';
import { INPUT_DIGEST_META, stateBytes, type DigestPlan, type InputDigest } from './jsonl-file-digest.js';

/** The source's part: a JSONL file's (`JsonlSource`, `ThreadedJsonlSource`); other sources have none, and the keeper does nothing. */
export interface DigestSource {
  readonly state?: string;
  planReadDigest?(plan: DigestPlan): void;
  readCheckpoint?(): InputDigest | undefined;
  readDigest?(): InputDigest | undefined;
}

/**
 * Keeps a JSONL file's digest (`INPUT_DIGEST_META`) in the journal of a run that reads it, so
 * that a later run can resume the file once lines were added after its last: before every
 * commit, and before anything else that makes the lines read so far the job's (a chunk sent to
 * Redis, which outlives a killed submitter), the digest of the bytes read so far, so that a run
 * killed at any point leaves the digest of all it ran; once the read reached the end, the whole
 * file's. A digest is never replaced by one of fewer bytes: those of the lines that ran before
 * must stay covered. A run that found the bytes that ran before changed keeps a mark that no
 * digest stands instead, and nothing after it.
 */
export class InputDigestKeeper {
  /** How many bytes the journal's digest covers for the source's state (Infinity: all of them, or no more is kept; -1: none). */
  private keptBytes = -1;

  private constructor(
    private readonly source: DigestSource,
    private readonly journal: Pick<JobStore, 'setMeta'>,
  ) {}

  /**
   * Settles what the source's reads do about the digest ({@link DigestPlan}), once the journal is
   * open and its counts known. A new journal takes at once the digest of no bytes (nothing ran:
   * a run killed before its first commit leaves a file that may change in any way); a grown
   * file's journal takes the digest of the bytes that ran, checked at the start, under the file's
   * new state.
   */
  static async open(source: DigestSource, journal: Pick<JobStore, 'status' | 'setMeta'>, counts: { readonly done: number; readonly failed: number }): Promise<InputDigestKeeper> {
    const keeper = new InputDigestKeeper(source, journal);
    if (source.planReadDigest === undefined || source.state === undefined) return keeper;
    const kept = (await journal.status({ failureLimit: 0 })).meta[INPUT_DIGEST_META] as Partial<InputDigest> | undefined;
    const known = kept?.state === source.state && typeof kept.crc32 === 'number' && kept.changedWhileRead === undefined;
    const bytes = known && typeof kept.bytes === 'number' && kept.bytes < (stateBytes(source.state) ?? Infinity) ? kept.bytes : undefined;
    if (known) keeper.keptBytes = bytes ?? Infinity;
    const fresh = counts.done + counts.failed === 0;
    source.planReadDigest({
      // The journal holds the whole file's digest already: nothing to hash.
      skip: known && bytes === undefined,
      fresh,
      // A run stopped before the end: what it read must be found again before this run's digest stands.
      verified: bytes === undefined ? undefined : { bytes, crc32: kept!.crc32! },
    });
    if (fresh && !known) {
      keeper.keptBytes = 0;
      await journal.setMeta(INPUT_DIGEST_META, { state: source.state, crc32: 0, bytes: 0 } satisfies InputDigest);
    }
    await keeper.coverRead();
    return keeper;
  }

  /** Before each commit, and each chunk a submitter sends: the digest of the bytes read so far, where it stands for what ran and covers more than the journal's. */
  coverRead(): Awaitable<void> {
    const digest = this.source.readCheckpoint?.();
    if (digest === undefined || this.keptBytes === Infinity) return;
    if (digest.changedWhileRead === undefined && (digest.bytes ?? Infinity) <= this.keptBytes) return;
    this.keptBytes = digest.changedWhileRead === undefined ? (digest.bytes ?? Infinity) : Infinity;
    return this.journal.setMeta(INPUT_DIGEST_META, digest);
  }

  /** Once the read reached the input's end: the whole file's digest, where the source took one. */
  afterRead(): Awaitable<void> {
    const digest = this.source.readDigest?.();
    if (digest === undefined || this.keptBytes === Infinity) return;
    this.keptBytes = Infinity;
    return this.journal.setMeta(INPUT_DIGEST_META, digest);
  }
}
