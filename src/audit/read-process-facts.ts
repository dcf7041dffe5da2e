import { readEnviron, readStatFields } from '../devices/index.js';
import type { ProcessFacts } from './audit-types.js';

export interface ReadProcessFactsOptions {
  /** @defaultValue `/proc`; tests point it elsewhere. */
  readonly procRoot?: string;
  /** Known worker PIDs: the walk up stops there, the rest of the chain is gpupool's own. */
  readonly stopAt?: ReadonlySet<number>;
  /** @defaultValue 64 ancestors, enough for any real process tree. */
  readonly maxDepth?: number;
}

/**
 * Reads /proc for each PID and its ancestors: parent, start time, and the gpupool
 * variables of its environment. The walk up stops at a known worker, at PID 1, or at the
 * first process without `GPUPOOL_WORKER_ID` above one that has it (the gpupool that
 * started the worker), so a standalone reader can tell a worker from its children. Each
 * process is read once per call. A process that cannot be read (gone, another user's,
 * another PID namespace) yields what could be read, or nothing.
 */
export async function readProcessFacts(pids: Iterable<number>, options: ReadProcessFactsOptions = {}): Promise<ProcessFacts[]> {
  const procRoot = options.procRoot ?? '/proc';
  const maxDepth = options.maxDepth ?? 64;
  const read = new Map<number, Promise<ProcessFacts | undefined>>();
  const factsOf = (pid: number): Promise<ProcessFacts | undefined> => {
    let pending = read.get(pid);
    if (!pending) read.set(pid, (pending = readOne(procRoot, pid)));
    return pending;
  };
  await Promise.all(
    [...new Set(pids)].map(async (pid) => {
      let current: number | undefined = pid;
      let belowWorker = false;
      for (let depth = 0; depth <= maxDepth && current !== undefined && current > 1; depth++) {
        const facts = await factsOf(current);
        if (!facts || options.stopAt?.has(current)) return;
        if (facts.worker !== undefined) belowWorker = true;
        else if (belowWorker) return;
        current = facts.ppid;
      }
    }),
  );
  const all = await Promise.all(read.values());
  return all.filter((f): f is ProcessFacts => f !== undefined).sort((a, b) => a.pid - b.pid);
}

async function readOne(procRoot: string, pid: number): Promise<ProcessFacts | undefined> {
  const [stat, env] = await Promise.all([readStat(procRoot, pid), readEnviron(procRoot, pid)]);
  if (!stat && !env) return undefined;
  const worker = env?.get('GPUPOOL_WORKER_ID');
  const model = env?.get('GPUPOOL_MODEL');
  const poolPid = positive(env?.get('GPUPOOL_POOL_PID'));
  const memoryLimit = positive(env?.get('GPUPOOL_MEMORY_LIMIT'));
  return {
    pid,
    ...(stat ? { ppid: stat.ppid, startTime: stat.startTime } : {}),
    ...(worker ? { worker } : {}),
    ...(worker && model ? { model } : {}),
    ...(worker && poolPid !== undefined ? { poolPid } : {}),
    ...(worker && memoryLimit !== undefined ? { memoryLimit } : {}),
  };
}

function positive(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return n > 0 ? n : undefined;
}

/** Parent PID and start time from `/proc/<pid>/stat`. */
export async function readStat(procRoot: string, pid: number): Promise<{ ppid: number; startTime: number } | undefined> {
  const fields = await readStatFields(procRoot, pid);
  const ppid = Number(fields?.[1]);
  const startTime = Number(fields?.[19]);
  return Number.isInteger(ppid) && Number.isInteger(startTime) ? { ppid, startTime } : undefined;
}
