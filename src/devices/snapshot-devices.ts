import type { Device, DeviceProcess, DeviceProvider, DeviceSample } from './device.js';
import { findProcessOwner, type ProcessOwnerOptions } from './process-owner.js';

/** A process on a device, with the gpupool worker it belongs to where it is one of ours. */
export interface OwnedDeviceProcess extends DeviceProcess {
  /** `GPUPOOL_WORKER_ID`, e.g. `ocr/cuda:1/0`. */
  readonly worker?: string;
  readonly model?: string;
  /** Belongs to a gpupool worker (of any gpupool on this host). */
  readonly ours: boolean;
  /**
   * A gpupool worker found on a device its id does not name: pinning did not hold
   * (design: trust, then verify).
   */
  readonly misplaced?: boolean;
}

/** One device at one moment: what it is, how full, and who holds it. */
export interface DeviceSnapshot {
  readonly device: Device;
  /** Undefined where the provider had no reading for this device. */
  readonly sample?: DeviceSample;
  readonly processes: OwnedDeviceProcess[];
}

/**
 * Reads every provider at once (devices, memory, processes) and names the owner of each
 * process. Devices come in provider order, then index.
 */
export async function snapshotDevices(
  providers: readonly DeviceProvider[],
  options: ProcessOwnerOptions = {},
): Promise<DeviceSnapshot[]> {
  const perProvider = await Promise.all(
    providers.map(async (p) => {
      const [devices, samples, processes] = await Promise.all([p.list(), p.sample(), p.processes()]);
      return { devices, samples, processes };
    }),
  );
  const owners = new Map<number, Awaited<ReturnType<typeof findProcessOwner>>>();
  const pids = new Set(perProvider.flatMap((r) => r.processes.map((p) => p.pid)));
  await Promise.all([...pids].map(async (pid) => owners.set(pid, await findProcessOwner(pid, options))));

  return perProvider.flatMap(({ devices, samples, processes }) =>
    [...devices]
      .sort((a, b) => a.index - b.index)
      .map((device) => {
        const sample = samples.find((s) => s.uuid === device.uuid);
        return {
          device,
          ...(sample ? { sample } : {}),
          processes: processes
            .filter((p) => p.deviceUuid === device.uuid)
            .map((p) => withOwner(p, device, owners.get(p.pid))),
        };
      }),
  );
}

function withOwner(
  process: DeviceProcess,
  device: Device,
  owner: Awaited<ReturnType<typeof findProcessOwner>>,
): OwnedDeviceProcess {
  if (!owner) return { ...process, ours: false };
  const named = workerDeviceKeys(owner.worker);
  const misplaced = named.length > 0 && !named.includes(device.key);
  return {
    ...process,
    worker: owner.worker,
    ...(owner.model ? { model: owner.model } : {}),
    ours: true,
    ...(misplaced ? { misplaced } : {}),
  };
}

/** The device keys a worker id names: `ocr/cuda:6+7/0` → `cuda:6`, `cuda:7`. */
export function workerDeviceKeys(workerId: string): string[] {
  const parts = workerId.split('/');
  const placement = parts.length >= 3 ? parts[parts.length - 2] : '';
  const m = /^([a-z]+):([\d+]+)$/.exec(placement);
  if (!m) return [];
  return m[2].split('+').map((i) => `${m[1]}:${i}`);
}
