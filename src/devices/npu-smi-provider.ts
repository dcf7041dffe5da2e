import type { Device, DeviceProcess, DeviceProvider, DeviceSample } from './device.js';
import { parseNpuSmiInfo, type NpuSmiInfo } from './npu-smi-parsers.js';
import { runDeviceTool } from './run-device-tool.js';
import { sharedRead } from './shared-read.js';

/** Where Ascend drivers put the tool when it is not on PATH. */
export const NPU_SMI_FALLBACKS = ['/usr/local/sbin/npu-smi', '/usr/local/bin/npu-smi'];

/** Huawei Ascend NPUs through `npu-smi info`: one call gives chips, usage and processes. */
export class NpuSmiProvider implements DeviceProvider {
  readonly vendor = 'ascend' as const;
  readonly source = 'npu-smi';
  private devices: Device[] | undefined;
  private readonly readInfo: () => Promise<NpuSmiInfo>;

  constructor(readonly executable: string) {
    this.readInfo = sharedRead(async () => {
      const info = parseNpuSmiInfo(await runDeviceTool(this.source, executable, ['info']));
      this.devices = info.chips.map((c) => c.device);
      return info;
    });
  }

  async list(): Promise<Device[]> {
    return this.devices ?? (await this.readInfo()).chips.map((c) => c.device);
  }

  async sample(): Promise<DeviceSample[]> {
    return (await this.readInfo()).chips.map((c) => c.sample);
  }

  async processes(): Promise<DeviceProcess[]> {
    return (await this.readInfo()).processes;
  }

  async close(): Promise<void> {}
}
