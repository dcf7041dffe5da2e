import { readEnviron, readParentPid } from './proc-files.js';

/** The gpupool worker a process belongs to. */
export interface ProcessOwner {
  /** `GPUPOOL_WORKER_ID` of the worker, e.g. `ocr/cuda:1/0`. */
  readonly worker: string;
  /** `GPUPOOL_MODEL`, where known. */
  readonly model?: string;
  /** The PID at which the owner was recognised: the process itself or an ancestor. */
  readonly via: number;
}

export interface ProcessOwnerOptions {
  /**
   * Worker processes this gpupool started, by PID. Consulted while walking a process's
   * parents, for workers whose environment cannot be read.
   * @defaultValue none
   */
  readonly workers?: ReadonlyMap<number, { worker: string; model?: string }>;
  /** @defaultValue `/proc`; tests point it elsewhere. */
  readonly procRoot?: string;
  /** @defaultValue 64 ancestors, enough for any real process tree. */
  readonly maxDepth?: number;
}

/**
 * Finds the gpupool worker owning a PID. The driver reports the process that holds device
 * memory, often a child of the worker (a dataloader, a compiler, a vLLM engine). Workers'
 * children inherit `GPUPOOL_WORKER_ID`, so the PID's own environment usually answers; where
 * it cannot be read (another user's process) or was cleared (`env -i`), the parent chain is
 * walked up, each ancestor checked against the known worker PIDs and its own environment. Undefined: not ours, or not in this PID namespace (drivers report
 * host PIDs to containers).
 */
export async function findProcessOwner(pid: number, options: ProcessOwnerOptions = {}): Promise<ProcessOwner | undefined> {
  const procRoot = options.procRoot ?? '/proc';
  const maxDepth = options.maxDepth ?? 64;
  let current = pid;
  for (let depth = 0; depth <= maxDepth && current > 0; depth++) {
    const known = options.workers?.get(current);
    if (known) return { ...known, via: current };
    const env = await readEnviron(procRoot, current);
    const worker = env?.get('GPUPOOL_WORKER_ID');
    if (worker) {
      const model = env?.get('GPUPOOL_MODEL');
      return { worker, ...(model ? { model } : {}), via: current };
    }
    const parent = await readParentPid(procRoot, current);
    if (parent === undefined || parent === current) return undefined;
    current = parent;
  }
  return undefined;
}
