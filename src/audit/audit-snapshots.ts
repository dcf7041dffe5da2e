import type { DeviceSnapshot } from '../devices/index.js';
import { assignmentsFromFacts } from './assignments-from-facts.js';
import type { AuditFindings, AuditSample } from './audit-types.js';
import { findStrays } from './find-strays.js';
import { readProcessFacts } from './read-process-facts.js';

/**
 * The audit from outside a pool (`gpupool devices`, `gpupool doctor`): the workers are
 * found through their environment, their assignments read from their ids, and any
 * gpupool's workers are judged.
 */
export async function auditSnapshots(snapshots: readonly DeviceSnapshot[], options: { procRoot?: string } = {}): Promise<AuditFindings> {
  const processes = snapshots
    .filter((s) => s.device.vendor !== 'cpu')
    .flatMap((s) =>
      s.processes.map((p) => ({
        pid: p.pid,
        deviceUuid: s.device.uuid,
        deviceKey: s.device.key,
        ...(p.usedMemory === undefined ? {} : { usedMemory: p.usedMemory }),
      })),
    );
  const facts = await readProcessFacts(processes.map((p) => p.pid), options);
  const sample: AuditSample = { at: Date.now(), processes, facts };
  return findStrays(sample, assignmentsFromFacts(facts));
}
