import type { GpupoolConfig } from '../config/index.js';
import type { DeviceProvider } from '../devices/device.js';
import type { PoolEvent } from '../pool/index.js';

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
  /** `--shard I/N`: only items whose position modulo N is I. */
  readonly shard?: { readonly index: number; readonly count: number };
  /** `--on-error`: `continue` writes a failed line and goes on; `stop` stops at the first. @defaultValue continue */
  readonly onError?: 'continue' | 'stop';
  /** `--fresh`: ignore and replace the journal. */
  readonly fresh?: boolean;
  /** `--state-dir`: where the journal and worker logs live. @defaultValue `<output dir>/.gpupool/<output name>` */
  readonly stateDir?: string;
  /** `--cost-field`: overrides the model's `cost_field`. */
  readonly costField?: string;
  readonly verbose?: boolean;
  /** Where progress and the summary go. @defaultValue process.stderr */
  readonly progressOut?: NodeJS.WritableStream;
  /** `tty` redraws, `plain` prints a line every few seconds, `none` is silent. @defaultValue tty if stderr is a terminal, else plain */
  readonly progress?: 'tty' | 'plain' | 'none';
  readonly providers?: DeviceProvider[];
  readonly onEvent?: (e: PoolEvent) => void;
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
}

export interface RunSummary {
  readonly model: string;
  readonly done: number;
  readonly failed: number;
  /** Items skipped because an earlier run finished them. */
  readonly resumed: number;
  readonly wallSeconds: number;
  readonly itemsPerSecond: number;
  readonly devices: DeviceSummary[];
  readonly workerRestarts: number;
  /** Learned batch limit per device key at the end. */
  readonly batchLimits: Record<string, number>;
  /** `complete`, `interrupted` (Ctrl-C, resumable), or `stopped` (--on-error stop). */
  readonly outcome: 'complete' | 'interrupted' | 'stopped';
  readonly peakRssBytes: number;
}
