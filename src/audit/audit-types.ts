/** What `--on-stray` does with a stray: report it (the default), or report and kill it. */
export type OnStray = 'warn' | 'kill';

export const ON_STRAY_MODES: readonly OnStray[] = ['warn', 'kill'];

/** A worker as the audit knows it: what it was given, and where its process is. */
export interface WorkerAssignment {
  /** `GPUPOOL_WORKER_ID`, e.g. `ocr/cuda:1/0`. */
  readonly worker: string;
  readonly model?: string;
  /** The worker's own process, while it runs. */
  readonly pid?: number;
  /** The device keys it was given (`cuda:1`); a CPU worker has `cpu:0`, so any accelerator is wrong for it. */
  readonly deviceKeys: readonly string[];
  /** `memory.limit`: bytes the worker and its children may hold on each of its devices. */
  readonly memoryLimit?: number;
}

/** A process holding device memory, as the driver reported it, with the device named. */
export interface DeviceProcessSample {
  readonly pid: number;
  readonly deviceUuid: string;
  /** `cuda:0`: the host's name for the device. */
  readonly deviceKey: string;
  /** Bytes; undefined where the driver hides it. */
  readonly usedMemory?: number;
}

/** What /proc said about one process: enough to walk up to a worker and to recognise the process later. */
export interface ProcessFacts {
  readonly pid: number;
  /** Undefined when /proc could not tell (gone, another PID namespace). */
  readonly ppid?: number;
  /** Clock ticks after boot (`/proc/<pid>/stat` field 22): a reused PID has another. */
  readonly startTime?: number;
  /** `GPUPOOL_WORKER_ID` in its environment (inherited by children), where readable. */
  readonly worker?: string;
  readonly model?: string;
  /** `GPUPOOL_POOL_PID`: the gpupool process that started the worker. */
  readonly poolPid?: number;
  /** `GPUPOOL_MEMORY_LIMIT`, bytes. */
  readonly memoryLimit?: number;
}

/**
 * One reading of the host, the audit's whole input: the processes the drivers list on each
 * device, and the /proc facts of those processes and their ancestors. Recorded samples in
 * this shape are what the decision logic is tested against.
 */
export interface AuditSample {
  /** Milliseconds since the epoch. */
  readonly at: number;
  readonly processes: readonly DeviceProcessSample[];
  readonly facts: readonly ProcessFacts[];
}

export type StrayKind = 'wrong-device' | 'over-budget';

/** A worker, or a child of one, where it must not be: on a device it was not given, or above its budget. */
export interface Stray {
  /** Stable while the stray lasts: `wrong-device ocr/cuda:1/0 cuda:0`. */
  readonly id: string;
  readonly kind: StrayKind;
  readonly worker: string;
  readonly model?: string;
  /** The worker's own PID, where known. */
  readonly workerPid?: number;
  /** The device it was found on. */
  readonly deviceKey: string;
  readonly deviceUuid: string;
  /** The devices the worker was given. */
  readonly given: readonly string[];
  /** The processes of the worker's tree holding memory on that device. */
  readonly pids: readonly number[];
  /** Those of `pids` that are children (or deeper) of the worker, not the worker itself. */
  readonly children: readonly number[];
  /** Bytes they hold there together (what the driver reported). */
  readonly usedMemory: number;
  /** The budget that was exceeded (`over-budget`). */
  readonly memoryLimit?: number;
  /** When it was first seen (ms since the epoch). */
  readonly since: number;
  /** One line for logs and tables. */
  readonly message: string;
  /** How to fix it. */
  readonly remedy: string;
}

/** A process on a device that is not ours: another user, another service, another gpupool. */
export interface Tenant {
  readonly pid: number;
  readonly deviceKey: string;
  readonly deviceUuid: string;
  readonly usedMemory?: number;
  /** Set when it is a worker of another gpupool. */
  readonly worker?: string;
}

/** A device process that belongs to one of our workers. */
export interface OwnedProcess extends DeviceProcessSample {
  readonly worker: string;
  /** The worker's PID, where known; equal to `pid` for the worker itself. */
  readonly workerPid?: number;
  /** True for a child (or deeper descendant) of the worker. */
  readonly child: boolean;
}

export interface AuditFindings {
  readonly strays: readonly Stray[];
  readonly tenants: readonly Tenant[];
  readonly ours: readonly OwnedProcess[];
}
