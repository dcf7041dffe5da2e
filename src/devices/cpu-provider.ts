import os from 'node:os';
import type { Device, DeviceProcess, DeviceProvider, DeviceSample } from './device.js';

/** The one CPU "device": where a model runs when no accelerator is chosen or present. */
export class CpuProvider implements DeviceProvider {
  readonly vendor = 'cpu' as const;
  readonly source = 'os';

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
    // One-minute load over cores: a busy host reads 100 %, an oversubscribed one too.
    const cores = Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
    const utilization = Math.min(100, Math.round((os.loadavg()[0] / cores) * 100));
    return [{ uuid: 'cpu', memoryTotal, memoryFree, memoryUsed: memoryTotal - memoryFree, utilization }];
  }

  async processes(): Promise<DeviceProcess[]> {
    // Every process uses host memory; listing them would drown the accelerators' view.
    return [];
  }

  async close(): Promise<void> {}
}
