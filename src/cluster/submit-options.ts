import type { GpupoolConfig } from '../config/index.js';
import type { HeldBackLine } from '../run/index.js';

export interface SubmitOptions {
  readonly config: GpupoolConfig;
  /** `-m`; may be left out when the config has one model. Agents must run a model of this name. */
  readonly model?: string;
  /** `-i`: JSONL file, directory, glob, or `-` for stdin. */
  readonly input: string;
  /** `-o`: the output JSONL file (on this machine). */
  readonly output: string;
  /** `--redis`: `redis://[:password@]host:port[/db]` or `rediss://`. */
  readonly redisUrl: string;
  /** `--prefix`: the namespace of the queues in Redis. @defaultValue gpupool */
  readonly prefix?: string;
  /** `--job`: the job's name in Redis. @defaultValue `<model>-<hash of the job and output>` */
  readonly jobName?: string;
  /** `--chunk-size`: items per chunk; one chunk goes to one agent, its items batched together. @defaultValue 256 */
  readonly chunkSize?: number;
  /** `--max-chunks`: chunks out at once. @defaultValue 2 × the chunks the live agents hold, at least 4 */
  readonly maxChunks?: number;
  /** `--lock-duration`: how long a chunk stays with an agent that stopped renewing its lock (killed). @defaultValue 30000 */
  readonly lockDurationMs?: number;
  /** `--journal`: where results are journaled. @defaultValue sqlite */
  readonly journal?: 'sqlite' | 'redis';
  /** `--fresh`: forget the journal and the job's chunks in Redis; start over. */
  readonly fresh?: boolean;
  /** `--state-dir`: the SQLite journal's folder. @defaultValue `<output dir>/.gpupool/<output name>` */
  readonly stateDir?: string;
  /** `--cost-field`: overrides the model's `cost_field`. */
  readonly costField?: string;
  /** @defaultValue tty if stderr is a terminal, else plain */
  readonly progress?: 'tty' | 'plain' | 'none';
  /** @defaultValue process.stderr */
  readonly progressOut?: NodeJS.WritableStream;
  /** One line per thing worth knowing (chunks taken back, Redis lost and back). */
  readonly log?: (line: string) => void;
  /** Aborting stops reading; chunks out are still answered and written (the first Ctrl-C). */
  readonly drainSignal?: AbortSignal;
  /** Aborting stops now (the second Ctrl-C); the same command resumes. */
  readonly killSignal?: AbortSignal;
}

export interface SubmitSummary {
  readonly job: string;
  readonly model: string;
  readonly done: number;
  readonly failed: number;
  /** Items an earlier run had finished. */
  readonly resumed: number;
  /** Of `resumed`, the items an earlier run failed. */
  readonly resumedFailed: number;
  /** Results that came twice (a chunk redone) and were written once. */
  readonly duplicates: number;
  /** Results of chunks sent before `--fresh` (or for a job this one replaced) that agents answered since: another input's, dropped. */
  readonly stale: number;
  readonly wallSeconds: number;
  readonly itemsPerSecond: number;
  /** Chunks split after their agent died holding them. */
  readonly splits: number;
  /** Items per `agent/device`. */
  readonly devices: Record<string, number>;
  readonly outcome: 'complete' | 'interrupted';
  /** The JSONL file's last line, left for the next run: no line end, and it may be unfinished (as `RunSummary.heldBack`). */
  readonly heldBack?: HeldBackLine;
}
