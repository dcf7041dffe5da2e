import type { ModelConfig } from '../config/index.js';
import { formatCpuList, planCpuAffinity, type AffinityPlan, type AffinitySources, type WorkerPlacement } from '../devices/index.js';
import { GpupoolError } from '../errors/index.js';
import { resolveCommand } from '../worker/index.js';
import type { PoolEvent } from './pool-options.js';

/** The id of a model's worker (or replica) on a placement: `resnet/cuda:0/0`. */
export function workerIdOf(model: string, placement: WorkerPlacement): string {
  return `${model}/${placement.key}/${placement.replica}`;
}

/** What `cpus: auto` decided for the workers of one or more models. */
export interface WorkerCpuPlan extends AffinityPlan {
  /**
   * What goes in front of a worker's argv: `taskset -c LIST` for a pinned worker, which sets
   * the affinity and then execs the command (same PID, so the audit and `gpupool devices` still
   * find it; its children inherit the CPUs); nothing for the others.
   */
  argvPrefix(workerId: string): string[];
}

/**
 * The CPUs of every worker of the models with `cpus: auto`, planned together so that workers
 * of two models near the same card do not share cores (see planCpuAffinity), and those left
 * unpinned (the kernel does not say where their card is) with the reason. `taskset` is looked
 * up once, here: missing, it is one clear error before anything starts.
 */
export function planWorkerCpus(
  plans: readonly { model: ModelConfig; placements: readonly WorkerPlacement[] }[],
  sources?: AffinitySources,
  env: NodeJS.ProcessEnv = process.env,
): WorkerCpuPlan {
  const requests = plans
    .filter((p) => p.model.cpus === 'auto')
    .flatMap((p) => p.placements.map((placement) => ({ id: workerIdOf(p.model.name, placement), devices: placement.devices })));
  if (requests.length === 0) return { cpus: new Map(), unpinned: [], argvPrefix: () => [] };
  const taskset = tasksetPath(env);
  const plan = planCpuAffinity(requests, sources);
  return {
    ...plan,
    argvPrefix: (id) => {
      const cpus = plan.cpus.get(id);
      return cpus === undefined ? [] : [taskset, '-c', formatCpuList(cpus)];
    },
  };
}

function tasksetPath(env: NodeJS.ProcessEnv): string {
  try {
    return resolveCommand(['taskset'], '/', env);
  } catch {
    throw new GpupoolError('GPUPOOL_E_COMMAND_NOT_FOUND', '`cpus: auto` starts each worker with `taskset` (util-linux), which is not on PATH: install util-linux or set `cpus: none`.');
  }
}

/** The event telling that a `cpus: auto` worker runs where the OS puts it. */
export function unpinnedEvent(worker: string, reason: string): PoolEvent {
  return { type: 'cpus-unpinned', worker, message: `${worker} runs on any CPU (cpus: auto): ${reason}` };
}
