import type { DigestPlan, InputDigest } from './jsonl-file-digest.js';
import type { HeldBackLine } from './unfinished-line.js';
import type { SeqRemap } from '../../store/index.js';

/** One input as read from the source, before the scheduler sees it. */
export type InputRecord =
  | { readonly seq: number; readonly id: string | number; readonly json: string; readonly cost: number }
  | { readonly seq: number; readonly id: string | number; readonly parseError: string };

/**
 * Consecutive JSONL lines, each checked to be one JSON value, as one record: line numbers
 * `id`…`id + offsets.length - 1`, their values joined by commas in `json`, value k starting at
 * `offsets[k]`. What the fast path of `gpupool run` reads (see `JsonlSource.spanBatches`).
 */
export interface SpanRecord {
  readonly seq: number;
  readonly id: number;
  readonly json: string;
  readonly offsets: Uint32Array;
}

export interface InputSource {
  /** What it reads, for messages and the journal's identity. */
  readonly description: string;
  /**
   * Known before reading to hold no inputs: a JSONL file of 0 bytes, a folder or glob that lists
   * no file (a typo in a glob). A run then loads no model.
   */
  readonly knownEmpty?: boolean;
  /** Identity of the input for resume: same identity, same items at the same positions. */
  readonly identity: string;
  /**
   * What the input's state was when it was opened, where it can be known (a JSONL file's size
   * and modification time, a folder's listing): a journal made with another state is not
   * resumed, since its items may have moved. Kept apart from `identity`, which names the job (in Redis too) whatever the state.
   */
  readonly state?: string;
  /**
   * True where gpupool once recorded no state for this kind of input (a folder or glob, before
   * its listing was): a journal made then, fingerprinted with none, is still this job's.
   */
  readonly formerlyStateless?: boolean;
  /** The identity an earlier gpupool gave this input, where it differs (a folder by its path as given, not its real path): its journals are still this job's. */
  readonly formerIdentity?: string;
  /**
   * Whether the input as it is now begins with all of the input as it was in `former`, one of
   * its states: its items kept their positions and new ones came after them (a folder whose new
   * files sort after the others, a JSONL file with lines added after its last), so a journal
   * made then is resumed and the new items run. `storedMeta` is that journal's meta
   * (`JobStore.setMeta`), where a JSONL file's {@link readDigest} was kept. False, or why not
   * (for the refusal).
   */
  continues?(former: string, storedMeta: Record<string, unknown>): boolean | string;
  /**
   * Where an input whose items are known by name (a folder's files) can tell where a journal's
   * items are now although they moved: it keeps its listing in the job's state dir before the
   * journal opens (so a journal never holds a state whose listing was not kept), drops the others
   * once the journal took its state, and maps a journal of an earlier state from the listing kept
   * then (undefined where none was kept). See `FileSource.remapFrom`.
   */
  keepListing?(stateDir: string): void;
  dropOtherListings?(stateDir: string): void;
  remapFrom?(stateDir: string, former: string): SeqRemap | undefined;
  /**
   * A JSONL file's last line that has no line end and may be unfinished (a producer may still
   * be writing it): the read stops before it and it is left for the next run (`unfinishedLastLine`).
   */
  readonly heldBack?: HeldBackLine;
  /**
   * Once a read reached the input's end, where the source can hash what it read (a JSONL file):
   * its state and the CRC-32 of its bytes, which the runner keeps in the journal
   * (`INPUT_DIGEST_META`) so that a later run can tell that the file only grew.
   */
  readDigest?(): InputDigest | undefined;
  /**
   * The digest of the bytes read so far (from the start), where the source hashes what it reads
   * and they stand for what ran: every record read so far lies within them, so the runner keeps
   * it in the journal before each commit, and a run stopped before the end leaves one.
   */
  readCheckpoint?(): InputDigest | undefined;
  /** What reads do about the digest, settled once the journal is open (`InputDigestKeeper.open`). */
  planReadDigest?(plan: DigestPlan): void;
  /** Progress 0..1 where it can be known (bytes read of a file), for the ETA. */
  fractionRead(): number | undefined;
  /** The records, a read chunk at a time: the hot path, one await per chunk, not per record. */
  recordBatches(): AsyncIterable<readonly InputRecord[]>;
  /** The records one by one (convenient where speed does not matter). */
  records(): AsyncIterable<InputRecord>;
  /**
   * The records with runs of up to `maxLines` plain lines as spans, where the source can: no
   * parse per line, and no cost read (the caller does not bound batches by cost).
   */
  spanBatches?(maxLines: number): AsyncIterable<readonly (InputRecord | SpanRecord)[]>;
  /**
   * Stops reading: a read that waits for input (stdin from a silent producer) ends as if the
   * input had ended, and so does every later one. For a run that stops admitting (a drain).
   */
  close?(): void;
}

/** `records()` for a source that implements `recordBatches()`. */
export async function* eachRecord(batches: AsyncIterable<readonly InputRecord[]>): AsyncIterable<InputRecord> {
  for await (const batch of batches) yield* batch;
}
