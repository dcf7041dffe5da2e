import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { busyPercent, readCpuTimes, type CpuTimes } from './cpu-busy.js';
import type { Device, DeviceProcess, DeviceProvider, DeviceSample } from './device.js';

/**
 * The shortest window utilisation is measured over: CPU times count in 10 ms ticks, so a
 * shorter one reads in steps of several percent. A sample this soon after the last (a one-off
 * `gpupool devices` right after the provider opened) waits for it.
 */
const MIN_WINDOW_MS = 100;

/** The one CPU "device": where a model runs when no accelerator is chosen or present. */
export class CpuProvider implements DeviceProvider {
  readonly vendor = 'cpu' as const;
  readonly source = 'os';
  /** Where the next utilisation window starts: the previous sample, or the provider's opening. */
  private since: CpuTimes = readCpuTimes();
  private sinceAt = performance.now();

  async list(): Promise<Device[]> {
    const model = os.cpus()[0]?.model.trim();
    return [
      {
        key: 'cpu:0',
        vendor: 'cpu',
        index: 0,
        uuid: 'cpu',
        name: model && model.length > 0 ? model : `${os.arch()} CPU`,
        memoryTotal: os.totalmem(),
      },
    ];
  }

  async sample(): Promise<DeviceSample[]> {
    const memoryTotal = os.totalmem();
    const memoryFree = os.freemem();
    // Busy time over the time since the last sample, across every core: 100 only when all are busy.
    const waited = performance.now() - this.sinceAt;
    if (waited < MIN_WINDOW_MS) await sleep(MIN_WINDOW_MS - waited);
    const now = readCpuTimes();
    const utilization = busyPercent(this.since, now);
    this.since = now;
    this.sinceAt = performance.now();
    return [{ uuid: 'cpu', memoryTotal, memoryFree, memoryUsed: memoryTotal - memoryFree, ...(utilization === undefined ? {} : { utilization }) }];
  }

  async processes(): Promise<DeviceProcess[]> {
    // Every process uses host memory; listing them would drown the accelerators' view.
    return [];
  }

  async close(): Promise<void> {}
}
