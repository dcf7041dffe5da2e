import type { AuditEvent, AuditFindings, AuditSample, OnStray, WorkerAssignment } from '../audit/index.js';
import type { GpupoolConfig } from '../config/index.js';
import type { DeviceProvider } from '../devices/device.js';
import type { MeasuredNeedStore } from './measured-need-store.js';
import type { FailureKind } from '../protocol/index.js';
import type { DispatchTarget, ItemSink } from '../scheduler/index.js';

/** Things worth telling the user about, as they happen. */
export type PoolEvent =
  | { type: 'worker-ready'; worker: string; pid?: number; restart: boolean }
  /** `stopped`: gpupool itself ended it at once (`Pool.destroy`: a second interrupt, a failed run), not a crash. */
  /**
   * `inflightItems`: the items it held (with a batch it answered `fatal` just before); of them
   * `failedItems` were written as failed, their attempts spent, and the others go back to the queue.
   */
  | { type: 'worker-crashed'; worker: string; message: string; inflightItems: number; failedItems?: number; stopped?: boolean; /** Its whole stderr and gpupool's notes. */ logFile?: string }
  | { type: 'worker-gave-up'; worker: string; message: string }
  | { type: 'placement-mismatch'; worker: string; message: string }
  | { type: 'model-down'; model: string; message: string }
  /** A device of the model's choice has no room for one worker (`memory.need`): no worker there. */
  | { type: 'placement-skipped'; model: string; device: string; message: string }
  /** A model without `memory.need` is placed by the need remembered from an earlier run (`measured-need.json`). */
  | { type: 'memory-need'; model: string; need: number; source: 'measured'; message: string }
  /** A worker's device memory was measured above what was remembered for its model and device name, and kept. */
  | { type: 'need-measured'; model: string; device: string; bytes: number; message: string }
  /**
   * A worker whose `ready` said `"release": true` left a `release` unanswered past its timeout
   * (the workers sharing its device, or an item waiting for the device, waited that long); told
   * once per worker slot.
   */
  | { type: 'release-unanswered'; worker: string; message: string }
  /** A `cpus: auto` worker the kernel gives no nearby CPUs for: it runs wherever the OS puts it. */
  | { type: 'cpus-unpinned'; worker: string; message: string }
  /** `stray` / `stray-cleared` from the audit (`pool.audit`). */
  | AuditEvent;

export interface PoolOptions {
  readonly config: GpupoolConfig;
  /** Models to start; default: all in the config. */
  readonly models?: readonly string[];
  /** `--devices`: overrides every model's `devices:`. */
  readonly devices?: string;
  /** Per-worker log files go here. */
  readonly logDir: string;
  /** `--verbose`: echo worker output here, prefixed. */
  readonly echo?: NodeJS.WritableStream;
  readonly sinkFor: (model: string) => ItemSink;
  /** Device providers; default: discovered (NVML, smi tools, CPU). */
  readonly providers?: DeviceProvider[];
  /** A limit learned by an earlier run, to start from. */
  readonly learnedLimit?: (model: string, deviceKey: string) => number | undefined;
  readonly onLimitChange?: (model: string, deviceKey: string, limit: number) => void;
  /** After every answered, failed or lost batch (metrics, per-worker rates): the worker is `target`. */
  readonly onBatch?: (model: string, target: DispatchTarget, size: number, ms: number, outcome: 'ok' | FailureKind | 'lost') => void;
  readonly onEvent?: (event: PoolEvent) => void;
  /** Device memory sampling period. @defaultValue 1000 */
  readonly sampleEveryMs?: number;
  /** `--on-stray`: what the audit does with a stray. @defaultValue warn */
  readonly onStray?: OnStray;
  /** How often the stray audit reads per-process device memory. @defaultValue 2000 */
  readonly auditEveryMs?: number;
  /**
   * Where models without `memory.need` have their measured device memory remembered, and
   * are placed by it on the next start; unset: not measured, not remembered. Front ends
   * pass `MeasuredNeedStore.fromEnv()` (`~/.cache/gpupool/measured-need.json`).
   */
  readonly measuredNeeds?: MeasuredNeedStore;
  /**
   * Processes this gpupool started outside the pool (`kind: http` replicas), as they are now:
   * the stray audit judges them as it judges the pool's workers.
   */
  readonly moreAssignments?: () => readonly WorkerAssignment[];
  /** Every raw audit sample, for recording (`GPUPOOL_AUDIT_RECORD`). */
  readonly onAuditSample?: (sample: AuditSample, findings: AuditFindings) => void;
  /**
   * Stops the start (Ctrl-C while models load): the workers started so far are killed and
   * `Pool.start` rejects with GPUPOOL_E_INTERRUPTED. Without it, a start could only be waited out
   * (up to `start_timeout`, 10 minutes by default).
   */
  readonly startSignal?: AbortSignal;
}
