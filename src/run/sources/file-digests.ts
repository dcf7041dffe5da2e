import { fileChunks } from './file-chunks.js';
import { fileSizeAndState, stillInState } from './input-state.js';
import { hashedChunks, INPUT_DIGEST_META, jsonlFileContinues, stateBytes, type DigestPlan, type InputDigest, type PrefixDigest } from './jsonl-file-digest.js';
import { unfinishedLastLine, type HeldBackLine } from './unfinished-line.js';

/**
 * A JSONL file source's part in resuming a file that grew, the same with or without the reader
 * thread (`JsonlSource`, `ThreadedJsonlSource`): whether the file continues a journal's state,
 * and then the bytes that ran, found again; what reads do about the digest ({@link DigestPlan});
 * the digest of what the first read has read so far, and the one its whole read left.
 */
export class FileDigests {
  /** Until the runner settles it (`InputDigestKeeper.open`): as for a new journal's first run. */
  private plan: DigestPlan = { skip: false, fresh: true };
  /** What `continues` checked the file against: the bytes that ran before. */
  private verified?: PrefixDigest;
  /** Reads begun: only the first one's checkpoints count. */
  private reads = 0;
  /** The first whole read's, where it stands for the state (a submitter's later pass reads lines that ran in the first). */
  digest?: InputDigest;
  /**
   * The digest of what the first read has read so far, where it stands for what ran (see
   * {@link standsSoFar}); until then, that of the bytes that ran before, checked at the start.
   * Every line read so far lies within its bytes: the journal keeps it before each commit.
   */
  checkpoint?: InputDigest;

  constructor(
    readonly file: string,
    /** What a read reads: the file's size when the source was made, less a last line held back. */
    readonly size: number,
    readonly state: string,
    /** The file's last line, unfinished (a producer may still be writing it) or blank: left for the next run. */
    readonly tail?: HeldBackLine,
  ) {}

  /**
   * The file as it is now: its state, and the bytes a run reads, all but an unfinished last line
   * (see `unfinishedLastLine`) unless `holdBack` is false.
   */
  static ofFile(file: string, holdBack = true): FileDigests {
    const { size, state } = fileSizeAndState(file);
    const tail = holdBack ? unfinishedLastLine(file, size) : undefined;
    return new FileDigests(file, tail?.at ?? size, state, tail);
  }

  /** The last line held back, unless blank (not an input: left out without a word). */
  get heldBack(): HeldBackLine | undefined {
    return this.tail?.blank === false ? this.tail : undefined;
  }

  /** `InputSource.continues` for this file (see {@link jsonlFileContinues}). */
  continues(former: string, storedMeta: Record<string, unknown>): boolean | string {
    const stored = storedMeta[INPUT_DIGEST_META];
    // The file's whole size, a last line held back included: the check reads what ran, whatever this run reads.
    const continues = jsonlFileContinues(this.file, stateBytes(this.state) ?? this.size, former, stored);
    if (continues === true) this.verified = checkedPrefix(former, stored);
    return continues;
  }

  /** The runner's plan, with the bytes `continues` found again unless it names its own (the reader thread gets the main thread's). */
  setPlan(plan: DigestPlan): void {
    this.plan = { ...plan, verified: plan.verified ?? this.verified };
    const { verified } = this.plan;
    this.checkpoint = verified && { state: this.state, crc32: verified.crc32, bytes: verified.bytes };
  }

  /** A read begins; true for the first, the only one whose checkpoints count (the reader thread's are posted to the main thread's). */
  beginRead(): boolean {
    return this.reads++ === 0;
  }

  /** What to hand the reader thread, for its own `FileDigests` of the same file. */
  get currentPlan(): DigestPlan {
    return this.plan;
  }

  /** One read of the file, as long as it was when the source was made, hashed unless the plan skips it. */
  chunks(): AsyncIterable<Buffer> {
    const chunks = fileChunks(this.file, undefined, this.size);
    const first = this.beginRead();
    if (this.plan.skip) return chunks;
    const { verified } = this.plan;
    const readSoFar = (bytes: number, crc32: number, prefixMatches: boolean | undefined) => {
      if (!first || this.checkpoint?.changedWhileRead !== undefined) return;
      if (this.standsSoFar(prefixMatches)) this.checkpoint = { state: this.state, crc32, bytes };
      else if (prefixMatches === false && verified !== undefined) {
        // The lines run from here on are read from other bytes than the lines that ran before:
        // no digest vouches for both, so the journal must not keep one that passes.
        this.checkpoint = { state: this.state, crc32: 0, bytes: 0, changedWhileRead: `its first ${verified.bytes} bytes were not those read before` };
      }
    };
    return hashedChunks(chunks, this.size, verified, {
      chunk: readSoFar,
      end: (bytes, crc32, prefixMatches, whole) => {
        readSoFar(bytes, crc32, prefixMatches);
        if (whole && this.digest === undefined && this.stands(prefixMatches)) {
          // A last line held back (the read's size is short of the state's) is not in it: the next run reads it as a line after those that ran.
          this.digest = bytes === stateBytes(this.state) ? { state: this.state, crc32 } : { state: this.state, crc32, bytes };
        }
      },
    });
  }

  /**
   * Whether the digest of the bytes read so far stands for what ran: the journal held nothing
   * before, or what ran before was found again. (Not the file keeping its state: a stat per chunk
   * for a journal from a gpupool that kept no digest, which the whole read's digest covers.)
   */
  private standsSoFar(prefixMatches: boolean | undefined): boolean {
    return this.plan.fresh || prefixMatches === true;
  }

  /**
   * Whether a digest of what was read stands for the file's state: the journal held nothing
   * before (every line read ran now), or what ran before was found again, or the file kept its
   * state while it was read (its size and time, as the journal trusts them).
   */
  private stands(prefixMatches: boolean | undefined): boolean {
    return prefixMatches !== false && (this.standsSoFar(prefixMatches) || stillInState(this.file, this.state));
  }
}

/** The digest `jsonlFileContinues` checked `former` against, as a {@link PrefixDigest}. */
function checkedPrefix(former: string, stored: unknown): PrefixDigest | undefined {
  const thenBytes = stateBytes(former);
  const digest = stored as Partial<InputDigest> | undefined;
  if (thenBytes === undefined || typeof digest?.crc32 !== 'number') return undefined;
  return { bytes: typeof digest.bytes === 'number' ? digest.bytes : thenBytes, crc32: digest.crc32 };
}
