import { auditSnapshots } from '../audit/index.js';
import { formatBytes } from '../config/index.js';
import type { DeviceSnapshot } from '../devices/index.js';
import type { Finding } from './doctor-finding.js';

/** gpupool workers (of any gpupool here) that are strays right now, and what other tenants hold. */
export async function checkStrays(snapshots: readonly DeviceSnapshot[], procRoot?: string): Promise<Finding[]> {
  const audit = await auditSnapshots(snapshots, procRoot === undefined ? {} : { procRoot });
  const findings: Finding[] = audit.strays.map((s) => ({ check: 'strays', level: 'error', message: s.message, fix: s.remedy }));
  for (const snap of snapshots) {
    const others = audit.tenants.filter((t) => t.deviceKey === snap.device.key);
    if (others.length === 0) continue;
    const reported = others.filter((t) => t.usedMemory !== undefined);
    const held = reported.length > 0 ? formatBytes(reported.reduce((n, t) => n + t.usedMemory!, 0)) : 'memory the driver does not report';
    const free = snap.sample ? `; ${formatBytes(snap.sample.memoryFree)} free` : '';
    findings.push({
      check: 'strays',
      level: 'info',
      message: `${snap.device.key}: ${others.length === 1 ? '1 other process' : `${others.length} other processes`} (PID ${others.map((t) => t.pid).join(', ')}) ${others.length === 1 ? 'holds' : 'hold'} ${held}${free}`,
    });
  }
  return findings;
}
