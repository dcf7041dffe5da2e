import fs from 'node:fs';
import path from 'node:path';

/**
 * What the control group gpupool runs in allows and uses, where it sets a limit: inside a
 * container (`docker run --cpus 4 --memory 16g`) the host's figures are not the CPU device's.
 * A field is absent where the cgroup sets no limit or the file cannot be read.
 */
export interface CgroupLimits {
  /** Bytes the cgroup and its ancestors allow, the smallest of them. */
  readonly memoryMax?: number;
  /** Bytes it uses now, less the file cache the kernel reclaims first (as `docker stats` counts). */
  readonly memoryUsed?: number;
  /** CPUs' worth of time it may use (quota / period), the smallest on its path. */
  readonly cpuQuota?: number;
  /** CPU time its processes used, in ms. */
  readonly cpuUsageMs?: number;
}

export interface CgroupPaths {
  /** Where the cgroup file systems are mounted. @defaultValue /sys/fs/cgroup */
  readonly root?: string;
  /** This process's `/proc/self/cgroup`. */
  readonly self?: string;
}

/** Memory limits at or above this are "none" (cgroup v1 writes 2^63 rounded to a page). */
const NO_MEMORY_LIMIT = 2 ** 60;

/** Reads cgroup v2 (unified) or v1, whichever this process is in. Never throws. */
export function readCgroupLimits(paths: CgroupPaths = {}): CgroupLimits {
  const root = paths.root ?? '/sys/fs/cgroup';
  const self = readText(paths.self ?? '/proc/self/cgroup');
  if (self === undefined) return {};
  const lines = self.split('\n').filter(Boolean).map((l) => l.split(':'));
  if (fs.existsSync(path.join(root, 'cgroup.controllers'))) {
    const unified = lines.find((f) => f[0] === '0' && f[1] === '');
    return unified ? readV2(root, ownDir(root, unified.slice(2).join(':'))) : {};
  }
  const dirOf = (controller: string): string | undefined => {
    const line = lines.find((f) => f[1]?.split(',').includes(controller));
    const mount = path.join(root, controller);
    return line && fs.existsSync(mount) ? ownDir(mount, line.slice(2).join(':')) : undefined;
  };
  return readV1(dirOf('memory'), dirOf('cpu'), dirOf('cpuacct'));
}

function readV2(root: string, dir: string): CgroupLimits {
  let memoryMax = Infinity;
  let cpuQuota = Infinity;
  // A limit set on a parent (the container's slice) binds as much as one set here.
  for (let d = dir; ; d = path.dirname(d)) {
    memoryMax = Math.min(memoryMax, Number(readText(path.join(d, 'memory.max'))?.trim() ?? NaN) || Infinity);
    const [quota, period] = (readText(path.join(d, 'cpu.max')) ?? '').trim().split(/\s+/).map(Number);
    if (quota > 0 && period > 0) cpuQuota = Math.min(cpuQuota, quota / period);
    if (d === root || path.dirname(d) === d) break;
  }
  const current = readNumber(path.join(dir, 'memory.current'));
  const inactive = statField(path.join(dir, 'memory.stat'), 'inactive_file') ?? 0;
  const usageUsec = statField(path.join(dir, 'cpu.stat'), 'usage_usec');
  return limits(memoryMax, current === undefined ? undefined : current - inactive, cpuQuota, usageUsec === undefined ? undefined : usageUsec / 1000);
}

function readV1(memory: string | undefined, cpu: string | undefined, cpuacct: string | undefined): CgroupLimits {
  const memoryMax = memory ? readNumber(path.join(memory, 'memory.limit_in_bytes')) : undefined;
  const usage = memory ? readNumber(path.join(memory, 'memory.usage_in_bytes')) : undefined;
  const inactive = memory ? statField(path.join(memory, 'memory.stat'), 'total_inactive_file') ?? 0 : 0;
  const quota = cpu ? readNumber(path.join(cpu, 'cpu.cfs_quota_us')) : undefined;
  const period = cpu ? readNumber(path.join(cpu, 'cpu.cfs_period_us')) : undefined;
  const usageNs = cpuacct ? readNumber(path.join(cpuacct, 'cpuacct.usage')) : undefined;
  const cpuQuota = quota !== undefined && period !== undefined && quota > 0 && period > 0 ? quota / period : Infinity;
  return limits(memoryMax ?? Infinity, usage === undefined ? undefined : usage - inactive, cpuQuota, usageNs === undefined ? undefined : usageNs / 1e6);
}

function limits(memoryMax: number, memoryUsed: number | undefined, cpuQuota: number, cpuUsageMs: number | undefined): CgroupLimits {
  return {
    ...(memoryMax < NO_MEMORY_LIMIT ? { memoryMax } : {}),
    ...(memoryUsed !== undefined ? { memoryUsed: Math.max(0, memoryUsed) } : {}),
    ...(Number.isFinite(cpuQuota) ? { cpuQuota } : {}),
    ...(cpuUsageMs !== undefined ? { cpuUsageMs } : {}),
  };
}

/**
 * The folder of this process's cgroup under a mount. Inside a container with its own cgroup
 * namespace the path reads "/" and the mount is the container's; without one it names the
 * host's path, which the container's mount may not hold: then the mount itself is ours.
 */
function ownDir(mount: string, cgroupPath: string): string {
  const dir = path.join(mount, cgroupPath);
  return fs.existsSync(dir) ? dir : mount;
}

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function readNumber(file: string): number | undefined {
  const text = readText(file)?.trim();
  const n = text === undefined || text === '' ? NaN : Number(text);
  return Number.isFinite(n) ? n : undefined;
}

/** `name value` lines (memory.stat, cpu.stat): the value of `name`. */
function statField(file: string, name: string): number | undefined {
  const text = readText(file);
  const match = text === undefined ? null : new RegExp(`^${name} (\\d+)$`, 'm').exec(text);
  return match ? Number(match[1]) : undefined;
}
