import type { ModelConfig } from '../config/index.js';
import { formatCpuList, planCpuAffinity, type AffinityPlan, type AffinitySources, type WorkerPlacement } from '../devices/index.js';
import { GpupoolError } from '../errors/index.js';
import { resolveCommand } from '../worker/index.js';
import type { PoolEvent } from './pool-options.js';

/** The id of a model's worker (or replica) on a placement: `resnet/cuda:0/0`. */
export function workerIdOf(model: string, placement: WorkerPlacement): string {
  return `${model}/${placement.key}/${placement.replica}`;
}

/**
 * The CPUs of every worker of the models with `cpus: auto`, planned together so that workers
 * of two models near the same card do not share cores (see planCpuAffinity), and those left
 * unpinned (the kernel does not say where their card is) with the reason.
 */
export function planWorkerCpus(
  plans: readonly { model: ModelConfig; placements: readonly WorkerPlacement[] }[],
  sources?: AffinitySources,
  env: NodeJS.ProcessEnv = process.env,
): AffinityPlan {
  const requests = plans
    .filter((p) => p.model.cpus === 'auto')
    .flatMap((p) => p.placements.map((placement) => ({ id: workerIdOf(p.model.name, placement), devices: placement.devices })));
  if (requests.length === 0) return { cpus: new Map(), unpinned: [] };
  tasksetPath(env); // missing taskset is one clear error before anything starts
  return planCpuAffinity(requests, sources);
}

function tasksetPath(env: NodeJS.ProcessEnv): string {
  try {
    return resolveCommand(['taskset'], '/', env);
  } catch {
    throw new GpupoolError('GPUPOOL_E_COMMAND_NOT_FOUND', '`cpus: auto` starts each worker with `taskset` (util-linux), which is not on PATH: install util-linux or set `cpus: none`.');
  }
}

/**
 * The argv that starts `command` on these CPUs: `taskset -c LIST` in front, which sets the
 * affinity and then execs the command (same PID, so the audit and `gpupool devices` still find
 * it; its children inherit the CPUs). Unchanged without CPUs.
 */
export function argvOnCpus(command: readonly string[], cpus: readonly number[] | undefined, env: NodeJS.ProcessEnv = process.env): string[] {
  return cpus === undefined ? [...command] : [tasksetPath(env), '-c', formatCpuList(cpus), ...command];
}

/** The event telling that a `cpus: auto` worker runs where the OS puts it. */
export function unpinnedEvent(worker: string, reason: string): PoolEvent {
  return { type: 'cpus-unpinned', worker, message: `${worker} runs on any CPU (cpus: auto): ${reason}` };
}
