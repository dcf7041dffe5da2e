import { readFile } from 'node:fs/promises';
import type { DeviceProvider } from '../devices/device.js';
import { snapshotDevices, type DeviceSnapshot } from '../devices/index.js';

/** A device as `/v1/devices` and the dashboard show it: memory split into ours and everyone else's. */
export interface DeviceView {
  readonly key: string;
  readonly name: string;
  readonly uuid: string;
  readonly vendor: string;
  readonly index: number;
  /** Whether one of this server's workers runs on it. */
  readonly inUse: boolean;
  readonly memory: {
    readonly total: number;
    readonly used: number;
    readonly free: number;
    /** Held by this server's workers (device memory; for the CPU, their resident set). */
    readonly workers: number;
    /** Everything else that is used: other processes, other tenants, the driver. */
    readonly others: number;
  };
  /** 0..100; null where the vendor tool does not report it. */
  readonly utilization: number | null;
  /** Processes holding device memory (for the CPU: this server's workers, with their resident memory). */
  readonly processes: readonly { readonly pid: number; readonly memory: number | null; readonly worker: string | null; readonly ours: boolean }[];
}

/** The workers of this server by PID, as the snapshot needs them to name owners. */
export type WorkerPids = () => ReadonlyMap<number, { worker: string; model: string; deviceKeys: readonly string[] }>;

/**
 * Samples every device (memory, utilisation, the processes on it and their owners) on a
 * timer; readers take the latest views, never waiting on a driver or an smi process.
 */
export class DeviceMonitor {
  private views: DeviceView[] = [];
  private sampling?: Promise<void>;

  constructor(
    private readonly providers: readonly DeviceProvider[],
    private readonly workerPids: WorkerPids,
  ) {}

  get latest(): readonly DeviceView[] {
    return this.views;
  }

  /** One sample now; concurrent calls share it. */
  sample(): Promise<void> {
    this.sampling ??= this.read().finally(() => (this.sampling = undefined));
    return this.sampling;
  }

  private async read(): Promise<void> {
    const pids = this.workerPids();
    const snapshots = await snapshotDevices(this.providers, { workers: pids }).catch(() => undefined);
    if (!snapshots) return; // keep the last views: a driver hiccup should not blank the dashboard
    const keysInUse = new Set([...pids.values()].flatMap((w) => w.deviceKeys));
    this.views = await Promise.all(snapshots.map((s) => this.view(s, keysInUse.has(s.device.key), pids)));
  }

  private async view(s: DeviceSnapshot, inUse: boolean, pids: ReturnType<WorkerPids>): Promise<DeviceView> {
    const { device, sample } = s;
    const total = sample?.memoryTotal ?? device.memoryTotal;
    const used = sample?.memoryUsed ?? 0;
    const ourWorkers = new Set([...pids.values()].map((w) => w.worker));
    let workers = 0;
    let processes: DeviceView['processes'];
    if (device.vendor === 'cpu') {
      // The driver lists no processes for the CPU: our share is the workers' resident sets.
      const ours = [...pids].filter(([, w]) => w.deviceKeys.includes(device.key));
      const rss = await Promise.all(ours.map(([pid]) => residentBytes(pid)));
      workers = rss.reduce((a, b) => a + b, 0);
      processes = ours.map(([pid, w], i) => ({ pid, memory: rss[i], worker: w.worker, ours: true }));
    } else {
      for (const p of s.processes) if (p.worker && ourWorkers.has(p.worker)) workers += p.usedMemory ?? 0;
      processes = s.processes.map((p) => ({
        pid: p.pid,
        memory: p.usedMemory ?? null,
        worker: p.worker ?? null,
        ours: p.worker !== undefined && ourWorkers.has(p.worker),
      }));
    }
    workers = Math.min(workers, used || workers);
    return {
      key: device.key,
      name: device.name,
      uuid: device.uuid,
      vendor: device.vendor,
      index: device.index,
      inUse,
      memory: { total, used, free: sample?.memoryFree ?? Math.max(0, total - used), workers, others: Math.max(0, used - workers) },
      utilization: sample?.utilization ?? null,
      processes,
    };
  }
}

/** VmRSS of a process in bytes; 0 when it is gone. */
async function residentBytes(pid: number): Promise<number> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}
