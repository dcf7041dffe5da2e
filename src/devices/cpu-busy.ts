import os from 'node:os';

/** The host's CPU time since boot, summed over its cores, in ms: busy (user, nice, sys, irq) and all (busy and idle). */
export interface CpuTimes {
  readonly busy: number;
  readonly total: number;
}

/** Every core's times from `os.cpus()`, summed. */
export function readCpuTimes(cpus: readonly Pick<os.CpuInfo, 'times'>[] = os.cpus()): CpuTimes {
  let busy = 0;
  let total = 0;
  for (const { times } of cpus) {
    const b = times.user + times.nice + times.sys + times.irq;
    busy += b;
    total += b + times.idle;
  }
  return { busy, total };
}

/**
 * Percent of the CPU time between two readings that was busy, 0..100; undefined when no time
 * passed between them (no window to measure). The load average is not this: it counts tasks
 * waiting (for a disk too), so an idle host can read 100 % for minutes after a burst.
 */
export function busyPercent(before: CpuTimes, after: CpuTimes): number | undefined {
  const total = after.total - before.total;
  if (total <= 0) return undefined;
  const busy = Math.max(0, after.busy - before.busy);
  return Math.min(100, Math.round((busy / total) * 100));
}
