import type { PostedError } from '../threads/posted-error.js';
import type { DigestPlan, InputDigest } from './jsonl-file-digest.js';
import type { PackedBatch } from './packed-batch.js';

/** What the reader thread is started with (its `workerData`). */
export interface ReaderThreadOptions {
  /** The JSONL file; absent: stdin (fd 0). */
  readonly file?: string;
  /** The file's size and state when the run opened it: what the thread reads. */
  readonly known?: { readonly size: number; readonly state: string };
  /** What the thread's reads do about the file's digest (`JsonlSource.planReadDigest`); absent for stdin. */
  readonly digestPlan?: DigestPlan;
  readonly costField: string;
  /** Lines per span (`JsonlSource.spanBatches`); 0 or 1: records only (`recordBatches`). */
  readonly spanLines: number;
}

/** Reader thread → main thread. The main thread answers each `batch` with a credit (a number). */
export type ReaderThreadMessage =
  /** `checkpoint`: the digest of what the thread has read so far (`JsonlSource.readCheckpoint`), which covers the batch. */
  | { readonly kind: 'batch'; readonly batch: PackedBatch; readonly fraction: number | undefined; readonly checkpoint?: InputDigest }
  /** The input ended; a file read to its end sends its digest, and how many lines it found (`JsonlSource.linesRead`). */
  | { readonly kind: 'end'; readonly digest?: InputDigest; readonly lines?: number }
  | { readonly kind: 'error'; readonly error: PostedError };
