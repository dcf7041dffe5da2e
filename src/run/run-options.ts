import type { AuditFindings, AuditSample, OnStray } from '../audit/index.js';
import type { GpupoolConfig } from '../config/index.js';
import type { ErrorCode } from '../errors/index.js';
import type { DeviceProvider } from '../devices/device.js';
import type { PoolEvent } from '../pool/index.js';
import type { JobJournal, OpenJournalOptions, RemapCounts } from '../store/index.js';
import type { HeldBackLine } from './sources/index.js';
import type { Shard } from './shard.js';

export interface RunOptions {
  readonly config: GpupoolConfig;
  /** `-m`; may be left out when the config has one model. */
  readonly model?: string;
  /** `-i`: JSONL file, directory, glob, or `-` for stdin. */
  readonly input: string;
  /** `-o`: the output JSONL file. */
  readonly output: string;
  /** `--devices`: overrides the model's `devices:`. */
  readonly devices?: string;
  /** `--max-pending`: items read but not yet written; reading pauses at this. @defaultValue derived from worker capacity */
  readonly maxPending?: number;
  /** `--shard I/N`: only items whose position modulo N is I; with `by: 'name'` (`--shard-by name`), a folder's files whose name hashes to I. */
  readonly shard?: Shard;
  /** `--on-error`: `continue` writes a failed line and goes on; `stop` stops at the first. @defaultValue continue */
  readonly onError?: 'continue' | 'stop';
  /** `--fresh`: ignore and replace the journal. */
  readonly fresh?: boolean;
  /** `--state-dir`: where the journal and worker logs live. @defaultValue `<output dir>/.gpupool/<output name>` */
  readonly stateDir?: string;
  /** `--cost-field`: overrides the model's `cost_field`. */
  readonly costField?: string;
  /** Read a JSONL file on a thread of its own. @defaultValue from `GPUPOOL_READER_THREAD` (`auto`: from 4 CPUs up) */
  readonly readerThread?: boolean;
  /** Make and write output lines on a thread of its own. @defaultValue from `GPUPOOL_WRITER_THREAD` (`auto`: from 4 CPUs up) */
  readonly writerThread?: boolean;
  readonly verbose?: boolean;
  /** Where progress and the summary go. @defaultValue process.stderr */
  readonly progressOut?: NodeJS.WritableStream;
  /** `tty` redraws, `plain` prints a line every few seconds, `none` is silent. @defaultValue tty if stderr is a terminal, else plain */
  readonly progress?: 'tty' | 'plain' | 'none';
  readonly providers?: DeviceProvider[];
  readonly onEvent?: (e: PoolEvent) => void;
  /** `--on-stray`: `warn` reports a stray worker or child (docs/doctor.md); `kill` also kills it. @defaultValue warn */
  readonly onStray?: OnStray;
  /** Every raw audit sample (`GPUPOOL_AUDIT_RECORD`). */
  readonly onAuditSample?: (sample: AuditSample, findings: AuditFindings) => void;
  /** Opens the job's journal; default: the SQLite journal under the state dir (benchmarks swap it to measure its cost). */
  readonly openJournal?: (options: OpenJournalOptions) => JobJournal;
  /** Aborting stops reading; in-flight work finishes (the first Ctrl-C). */
  readonly drainSignal?: AbortSignal;
  /** Aborting kills the workers now (the second Ctrl-C). */
  readonly killSignal?: AbortSignal;
}

export interface DeviceSummary {
  readonly key: string;
  readonly name: string;
  readonly items: number;
  readonly itemsPerSecond: number;
  readonly peakMemoryUsed: number;
  readonly memoryTotal: number;
  /** Batches its workers answered with outputs (`items / batches`: the mean batch), and with out-of-memory. */
  readonly batches: number;
  readonly outOfMemoryBatches: number;
}

export interface RunSummary {
  readonly model: string;
  readonly done: number;
  readonly failed: number;
  /** Items skipped because an earlier run finished them. */
  readonly resumed: number;
  /** Of `resumed`, the items an earlier run failed (their error lines are in the output already). */
  readonly resumedFailed: number;
  readonly wallSeconds: number;
  readonly itemsPerSecond: number;
  readonly devices: DeviceSummary[];
  /** Resident workers the run used. */
  readonly workers: number;
  readonly workerRestarts: number;
  /** Learned batch limit per device key at the end: the one its workers share. */
  readonly batchLimits: Record<string, number>;
  /** Each device key's workers' learned limits at the end, in worker order. */
  readonly workerBatchLimits: Record<string, number[]>;
  /**
   * This run's failures by the code their lines show (a malformed line's `GPUPOOL_E_INPUT_PARSE`,
   * a model's `GPUPOOL_E_ITEM_FAILED` or its own code), each with the first one's id: bad input
   * told from a model's failures, which share exit status 1. Absent when none failed.
   */
  readonly failedByCode?: Record<string, { readonly count: number; readonly firstId: string | number }>;
  /** `complete`, `interrupted` (Ctrl-C, resumable), or `stopped` (--on-error stop). */
  readonly outcome: 'complete' | 'interrupted' | 'stopped';
  /** With `stopped`: the failure it stopped at (`code` is gpupool's, `shownCode` what its line shows). */
  readonly stoppedBy?: { readonly id: string | number; readonly code: ErrorCode; readonly shownCode: string; readonly message: string };
  readonly peakRssBytes: number;
  /** Whether the input was read on a thread of its own (`GPUPOOL_READER_THREAD`). */
  readonly readerThread: boolean;
  /** Whether output lines were made and written on a thread of its own (`GPUPOOL_WRITER_THREAD`). */
  readonly writerThread: boolean;
  /** The JSONL file's last line, left for the next run: no line end, and it may be unfinished (a producer may still be writing it). */
  readonly heldBack?: HeldBackLine;
  /** Set when a finished job's input was as it was: nothing ran, and no model was loaded. */
  readonly nothingToRun?: true;
  /** Set when the folder changed in the middle since the journal was made, and the journal was taken to where its files are now (`describeRemap`). */
  readonly remapped?: RemapCounts;
}
