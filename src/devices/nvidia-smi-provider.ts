import type { Device, DeviceProcess, DeviceProvider, DeviceSample } from './device.js';
import {
  NVIDIA_SMI_APPS_QUERY,
  NVIDIA_SMI_GPU_QUERY,
  parseNvidiaSmiApps,
  parseNvidiaSmiGpus,
  type NvidiaSmiGpus,
} from './nvidia-smi-parsers.js';
import { runDeviceTool } from './run-device-tool.js';
import { sharedRead } from './shared-read.js';

/**
 * NVIDIA devices through the `nvidia-smi` program: the fallback where NVML cannot be
 * loaded. Tens of milliseconds a call against NVML's microseconds, but always there.
 */
export class NvidiaSmiProvider implements DeviceProvider {
  readonly vendor = 'nvidia' as const;
  readonly source = 'nvidia-smi';
  private devices: Device[] | undefined;
  private readonly readGpus: () => Promise<NvidiaSmiGpus>;

  /** @param executable path of `nvidia-smi` (see `findExecutable`). */
  constructor(readonly executable: string) {
    this.readGpus = sharedRead(async () => {
      const text = await runDeviceTool(this.source, executable, [
        `--query-gpu=${NVIDIA_SMI_GPU_QUERY}`,
        '--format=csv,noheader,nounits',
      ]);
      const read = parseNvidiaSmiGpus(text);
      this.devices = read.devices;
      return read;
    });
  }

  async list(): Promise<Device[]> {
    return this.devices ?? (await this.readGpus()).devices;
  }

  async sample(): Promise<DeviceSample[]> {
    return (await this.readGpus()).samples;
  }

  async processes(): Promise<DeviceProcess[]> {
    const text = await runDeviceTool(this.source, this.executable, [
      `--query-compute-apps=${NVIDIA_SMI_APPS_QUERY}`,
      '--format=csv,noheader,nounits',
    ]);
    return parseNvidiaSmiApps(text);
  }

  async close(): Promise<void> {}
}
