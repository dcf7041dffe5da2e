import path from 'node:path';
import type { ModelConfig } from '../config/index.js';
import type { Device } from '../devices/device.js';
import { formatCpuList, pinningEnv } from '../devices/index.js';
import { pythonSdkPath } from './package-root.js';

/** Optional result frames gpupool decodes, besides the classic `result`. */
export const RESULT_FORMS = 'result_lines,result_array';

/**
 * The complete environment of a worker: gpupool's own, the vendor's pinning variables (set
 * before the process starts, so its framework sees only its devices), the SDK on
 * PYTHONPATH (before the model's own), then the model's `env:` last.
 */
export function workerEnv(model: ModelConfig, devices: readonly Device[], workerId: string, cpus?: readonly number[], base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  // The SDK first, then the model's own PYTHONPATH where `env:` sets one (not in place of the SDK:
  // its `import gpupool` then failed), else the inherited one.
  const pythonPath = [pythonSdkPath(), model.env.PYTHONPATH ?? base.PYTHONPATH].filter(Boolean).join(path.delimiter);
  return {
    ...base,
    ...pinningEnv([...devices]),
    GPUPOOL_PROTOCOL_FD: '3',
    // The optional answer forms this gpupool reads (docs/protocol.md): an SDK uses one only if named.
    GPUPOOL_RESULT_FORMS: RESULT_FORMS,
    GPUPOOL_WORKER_ID: workerId,
    GPUPOOL_MODEL: model.name,
    // Read back from /proc by the stray audit (and `gpupool devices`): whose worker, and its budget.
    GPUPOOL_POOL_PID: String(process.pid),
    // `cpus: auto`: the CPUs taskset gave it, so a worker can size its thread pools to them.
    ...(cpus === undefined ? {} : { GPUPOOL_CPUS: formatCpuList(cpus) }),
    ...(model.memory.limit === undefined ? {} : { GPUPOOL_MEMORY_LIMIT: String(model.memory.limit) }),
    PYTHONUNBUFFERED: '1',
    ...model.env,
    PYTHONPATH: pythonPath,
  };
}
