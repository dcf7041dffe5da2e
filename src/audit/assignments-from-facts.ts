import { workerDeviceKeys } from '../devices/index.js';
import type { ProcessFacts, WorkerAssignment } from './audit-types.js';

/**
 * The assignments of every gpupool worker in the facts, read from their environment alone,
 * for a reader that did not start them (`gpupool devices`, `gpupool doctor`). The worker
 * id names its devices (`ocr/cuda:6+7/0`); `GPUPOOL_MEMORY_LIMIT` its budget. The worker
 * itself is the highest process carrying its id: its parent (the gpupool) does not.
 */
export function assignmentsFromFacts(facts: readonly ProcessFacts[]): WorkerAssignment[] {
  const byPid = new Map(facts.map((f) => [f.pid, f]));
  const assignments: WorkerAssignment[] = [];
  for (const f of facts) {
    if (f.worker === undefined) continue;
    const parent = f.ppid === undefined ? undefined : byPid.get(f.ppid);
    if (parent?.worker === f.worker) continue; // a child: its worker is further up
    const deviceKeys = workerDeviceKeys(f.worker);
    if (deviceKeys.length === 0) continue; // not an id gpupool made: nothing to judge it by
    assignments.push({
      worker: f.worker,
      ...(f.model === undefined ? {} : { model: f.model }),
      pid: f.pid,
      deviceKeys,
      ...(f.memoryLimit === undefined ? {} : { memoryLimit: f.memoryLimit }),
    });
  }
  return assignments;
}
