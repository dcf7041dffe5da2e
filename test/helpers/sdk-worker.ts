// A worker process started as gpupool starts one (fd 3, its ids, the Python SDK on PYTHONPATH),
// for tests that talk to an SDK worker through WorkerProcess without a pool.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WorkerProcess, type WorkerHandlers } from '../../src/worker/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** `command` as worker m/cpu/0, in `dir` (its log there), with `env` added to the test's own. */
export function sdkWorker<B>(dir: string, command: string[], env: NodeJS.ProcessEnv, handlers: WorkerHandlers<B>): WorkerProcess<B> {
  return new WorkerProcess<B>(
    {
      id: 'm/cpu/0',
      model: 'm',
      command,
      cwd: dir,
      env: { ...process.env, ...env, GPUPOOL_PROTOCOL_FD: '3', GPUPOOL_WORKER_ID: 'm/cpu/0', GPUPOOL_MODEL: 'm', PYTHONPATH: path.join(root, 'sdk', 'python') },
      logFile: path.join(dir, 'worker.log'),
      startTimeoutMs: 30_000,
      batchDeadlineMs: 0,
    },
    handlers,
  );
}
