import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { readCgroupLimits, type CgroupLimits, type CgroupPaths } from './cgroup-limits.js';
import { busyPercent, readCpuTimes, type CpuTimes } from './cpu-busy.js';
import type { Device, DeviceProcess, DeviceProvider, DeviceSample } from './device.js';

/**
 * The shortest window utilisation is measured over: CPU times count in 10 ms ticks, so a
 * shorter one reads in steps of several percent. A sample this soon after the last (a one-off
 * `gpupool devices` right after the provider opened) waits for it.
 */
const MIN_WINDOW_MS = 100;

/**
 * The one CPU "device": where a model runs when no accelerator is chosen or present. Inside a
 * control group that limits memory or CPU time (a container's `--memory`, `--cpus`), its
 * figures are the cgroup's: the host's would offer a batch room the OOM killer then takes back.
 */
export class CpuProvider implements DeviceProvider {
  readonly vendor = 'cpu' as const;
  readonly source = 'os';
  /** Where the next utilisation window starts: the previous sample, or the provider's opening. */
  private since: CpuTimes = readCpuTimes();
  private sinceAt = performance.now();
  private cgroupSince: CgroupLimits;

  constructor(private readonly cgroup: CgroupPaths = {}) {
    this.cgroupSince = readCgroupLimits(cgroup);
  }

  async list(): Promise<Device[]> {
    const model = os.cpus()[0]?.model.trim();
    return [
      {
        key: 'cpu:0',
        vendor: 'cpu',
        index: 0,
        uuid: 'cpu',
        name: model && model.length > 0 ? model : `${os.arch()} CPU`,
        memoryTotal: memoryTotal(readCgroupLimits(this.cgroup)),
      },
    ];
  }

  async sample(): Promise<DeviceSample[]> {
    // Busy time over the time since the last sample, across every core (or the cgroup's quota of
    // cores): 100 only when all are busy.
    const waited = performance.now() - this.sinceAt;
    if (waited < MIN_WINDOW_MS) await sleep(MIN_WINDOW_MS - waited);
    const now = readCpuTimes();
    const cgroup = readCgroupLimits(this.cgroup);
    const windowMs = performance.now() - this.sinceAt;
    const utilization = quotaBusyPercent(this.cgroupSince, cgroup, windowMs) ?? busyPercent(this.since, now);
    this.since = now;
    this.cgroupSince = cgroup;
    this.sinceAt = performance.now();
    const total = memoryTotal(cgroup);
    // Within the cgroup's limit, and within what the host has left: its other tenants count too.
    const limited = cgroup.memoryMax !== undefined && cgroup.memoryMax < os.totalmem() && cgroup.memoryUsed !== undefined;
    const free = Math.max(0, Math.min(os.freemem(), limited ? total - cgroup.memoryUsed! : Infinity));
    return [{ uuid: 'cpu', memoryTotal: total, memoryFree: free, memoryUsed: total - free, ...(utilization === undefined ? {} : { utilization }) }];
  }

  async processes(): Promise<DeviceProcess[]> {
    // Every process uses host memory; listing them would drown the accelerators' view.
    return [];
  }

  async close(): Promise<void> {}
}

/** The host's memory, or the cgroup's limit where it is lower. */
function memoryTotal(cgroup: CgroupLimits): number {
  return Math.min(os.totalmem(), cgroup.memoryMax ?? Infinity);
}

/**
 * Percent of the cgroup's CPU quota its processes used over `windowMs`; undefined where it has
 * no quota (the host's cores are then the measure) or its usage cannot be read.
 */
function quotaBusyPercent(before: CgroupLimits, after: CgroupLimits, windowMs: number): number | undefined {
  if (after.cpuQuota === undefined || before.cpuUsageMs === undefined || after.cpuUsageMs === undefined || windowMs <= 0) return undefined;
  const cores = Math.min(after.cpuQuota, os.cpus().length);
  return Math.min(100, Math.max(0, Math.round(((after.cpuUsageMs - before.cpuUsageMs) / (windowMs * cores)) * 100)));
}
