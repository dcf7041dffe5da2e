import type { AuditSample, OwnedProcess, ProcessFacts, Tenant, WorkerAssignment } from './audit-types.js';

/** Deeper than any real process tree; stops a loop in damaged facts. */
const MAX_DEPTH = 64;

export interface Attribution {
  readonly ours: OwnedProcess[];
  readonly tenants: Tenant[];
}

/**
 * Names the worker each device process belongs to, or none (a tenant). The driver reports
 * whichever process holds the memory, often a child of a worker (a data loader, a compiler,
 * a second interpreter started with its visibility variable reset). From the process, up
 * its parent chain: a worker's own PID makes it that worker's; so does a
 * `GPUPOOL_WORKER_ID` naming one of our workers in its environment (children inherit it,
 * and it survives a parent that exited), unless `GPUPOOL_POOL_PID` says another gpupool
 * started it. A process cut off from every worker is another tenant.
 *
 * @param poolPid this gpupool's PID; undefined accepts a worker id from any pool (as
 *   `gpupool devices` does, looking at every gpupool of the host).
 */
export function attributeProcesses(sample: AuditSample, assignments: readonly WorkerAssignment[], poolPid?: number): Attribution {
  const facts = new Map<number, ProcessFacts>(sample.facts.map((f) => [f.pid, f]));
  const byPid = new Map<number, WorkerAssignment>();
  const byId = new Map<string, WorkerAssignment>();
  for (const a of assignments) {
    if (a.pid !== undefined) byPid.set(a.pid, a);
    byId.set(a.worker, a);
  }
  const ours: OwnedProcess[] = [];
  const tenants: Tenant[] = [];
  for (const p of sample.processes) {
    const owner = findOwner(p.pid, facts, byPid, byId, poolPid);
    if (owner.assignment) {
      const workerPid = owner.assignment.pid;
      ours.push({ ...p, worker: owner.assignment.worker, ...(workerPid === undefined ? {} : { workerPid }), child: p.pid !== workerPid });
    } else {
      tenants.push({
        pid: p.pid,
        deviceKey: p.deviceKey,
        deviceUuid: p.deviceUuid,
        ...(p.usedMemory === undefined ? {} : { usedMemory: p.usedMemory }),
        ...(owner.foreignWorker ? { worker: owner.foreignWorker } : {}),
      });
    }
  }
  return { ours, tenants };
}

function findOwner(
  pid: number,
  facts: ReadonlyMap<number, ProcessFacts>,
  byPid: ReadonlyMap<number, WorkerAssignment>,
  byId: ReadonlyMap<string, WorkerAssignment>,
  poolPid: number | undefined,
): { assignment?: WorkerAssignment; foreignWorker?: string } {
  const seen = new Set<number>();
  let current: number | undefined = pid;
  for (let depth = 0; depth <= MAX_DEPTH && current !== undefined && current > 0 && !seen.has(current); depth++) {
    seen.add(current);
    const known = byPid.get(current);
    if (known) return { assignment: known };
    const f = facts.get(current);
    if (!f) return {};
    if (f.worker !== undefined) {
      const named = byId.get(f.worker);
      const samePool = poolPid === undefined || f.poolPid === undefined || f.poolPid === poolPid;
      // Another gpupool's worker (or a leftover of an earlier run) is a tenant, named as such.
      return named && samePool ? { assignment: named } : { foreignWorker: f.worker };
    }
    current = f.ppid;
  }
  return {};
}
