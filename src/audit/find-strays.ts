import { attributeProcesses } from './attribute-processes.js';
import type { AuditFindings, AuditSample, OwnedProcess, Stray, WorkerAssignment } from './audit-types.js';
import { overBudgetText, wrongDeviceText } from './stray-messages.js';

export interface FindStraysOptions {
  /** This gpupool's PID: workers of other pools are tenants. Undefined: any pool's workers count. */
  readonly poolPid?: number;
}

/**
 * The audit's decision, pure: given one sample and the assignments, which processes are
 * strays and which are other tenants. For each worker and device, its processes there (the
 * worker and its descendants) are a stray when the device is not one it was given, or when
 * together they hold more than its `memory.limit`. One stray per (kind, worker, device), so
 * a stray keeps its id while its PIDs or memory change.
 */
export function findStrays(sample: AuditSample, assignments: readonly WorkerAssignment[], options: FindStraysOptions = {}): AuditFindings {
  const { ours, tenants } = attributeProcesses(sample, assignments, options.poolPid);
  const byWorker = new Map(assignments.map((a) => [a.worker, a]));
  const groups = new Map<string, OwnedProcess[]>();
  for (const p of ours) {
    const key = `${p.worker}\0${p.deviceKey}`;
    groups.set(key, [...(groups.get(key) ?? []), p]);
  }
  const strays: Stray[] = [];
  for (const processes of groups.values()) {
    const first = processes[0];
    const assignment = byWorker.get(first.worker)!;
    const pids = processes.map((p) => p.pid);
    const children = processes.filter((p) => p.child).map((p) => p.pid);
    const usedMemory = processes.reduce((n, p) => n + (p.usedMemory ?? 0), 0);
    const common = {
      worker: assignment.worker,
      ...(assignment.model === undefined ? {} : { model: assignment.model }),
      ...(assignment.pid === undefined ? {} : { workerPid: assignment.pid }),
      deviceKey: first.deviceKey,
      deviceUuid: first.deviceUuid,
      given: assignment.deviceKeys,
      pids,
      children,
      usedMemory,
      since: sample.at,
    };
    if (!assignment.deviceKeys.includes(first.deviceKey)) {
      strays.push({ id: `wrong-device ${assignment.worker} ${first.deviceKey}`, kind: 'wrong-device', ...common, ...wrongDeviceText(common) });
    } else if (assignment.memoryLimit !== undefined && usedMemory > assignment.memoryLimit) {
      const memoryLimit = assignment.memoryLimit;
      strays.push({ id: `over-budget ${assignment.worker} ${first.deviceKey}`, kind: 'over-budget', ...common, memoryLimit, ...overBudgetText({ ...common, memoryLimit }) });
    }
  }
  strays.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { strays, tenants, ours };
}
