import type { Device, DeviceProcess, DeviceProvider, DeviceSample } from './device.js';
import {
  parseRocmSmiJson,
  parseRocmSmiProcesses,
  ROCM_SMI_DEVICE_ARGS,
  ROCM_SMI_PROCESS_ARGS,
  type RocmSmiDevices,
} from './rocm-smi-parsers.js';
import { runDeviceTool } from './run-device-tool.js';
import { sharedRead } from './shared-read.js';

/** Where ROCm installs the tool when it is not on PATH. */
export const ROCM_SMI_FALLBACKS = ['/opt/rocm/bin/rocm-smi'];

/** AMD GPUs through `rocm-smi`. */
export class RocmSmiProvider implements DeviceProvider {
  readonly vendor = 'amd' as const;
  readonly source = 'rocm-smi';
  private devices: Device[] | undefined;
  private readonly readDevices: () => Promise<RocmSmiDevices>;

  constructor(readonly executable: string) {
    this.readDevices = sharedRead(async () => {
      const read = parseRocmSmiJson(await runDeviceTool(this.source, executable, ROCM_SMI_DEVICE_ARGS));
      this.devices = read.devices;
      return read;
    });
  }

  async list(): Promise<Device[]> {
    return this.devices ?? (await this.readDevices()).devices;
  }

  async sample(): Promise<DeviceSample[]> {
    return (await this.readDevices()).samples;
  }

  async processes(): Promise<DeviceProcess[]> {
    const [devices, text] = await Promise.all([
      this.list(),
      runDeviceTool(this.source, this.executable, ROCM_SMI_PROCESS_ARGS),
    ]);
    return parseRocmSmiProcesses(text, devices);
  }

  async close(): Promise<void> {}
}
