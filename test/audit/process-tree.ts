import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

/** A worker-like process tree: `sh` carrying a worker's environment, and one child it started. */
export interface WorkerTree {
  readonly worker: ChildProcess;
  readonly workerPid: number;
  readonly childPid: number;
  /** Resolves when the worker exits, which it does once its child is gone (it waits for it). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts `sh` with `GPUPOOL_WORKER_ID` (and this process as its pool); it starts `sleep`
 * with the gpupool variables removed, as a worker's child that reset its environment would,
 * then waits for it.
 */
export async function startWorkerTree(workerId: string, started: number[], extraEnv: Record<string, string> = {}): Promise<WorkerTree> {
  const { GPUPOOL_WORKER_ID: _w, GPUPOOL_MODEL: _m, GPUPOOL_POOL_PID: _p, ...base } = process.env;
  const worker = spawn('sh', ['-c', 'env -u GPUPOOL_WORKER_ID -u GPUPOOL_MODEL -u GPUPOOL_POOL_PID sleep 60 & echo $!; wait'], {
    env: { ...base, GPUPOOL_WORKER_ID: workerId, GPUPOOL_MODEL: workerId.split('/')[0], GPUPOOL_POOL_PID: String(process.pid), ...extraEnv },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  started.push(worker.pid!);
  const exited = once(worker, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  const [chunk] = (await once(worker.stdout!, 'data')) as [Buffer];
  const childPid = Number(String(chunk).trim());
  started.push(childPid);
  return { worker, workerPid: worker.pid!, childPid, exited };
}

/** A process of someone else: no gpupool variables. */
export function startTenant(started: number[]): number {
  const { GPUPOOL_WORKER_ID: _w, GPUPOOL_MODEL: _m, GPUPOOL_POOL_PID: _p, ...base } = process.env;
  const child = spawn('sleep', ['60'], { env: base, stdio: 'ignore' });
  started.push(child.pid!);
  return child.pid!;
}
