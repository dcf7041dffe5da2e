import { parseNvidiaSmiGpus, type Device, type DeviceProcess, type DeviceProvider, type DeviceSample } from '../../src/devices/index.js';
import { fixture } from '../devices/fixtures.js';

/**
 * An NVIDIA provider for a host without cards: the devices and memory of the captured
 * 2× H200 output, with free memory and the process list set by the test. Everything else
 * (workers, /proc, kills) is real.
 */
export class FakeNvidiaProvider implements DeviceProvider {
  readonly vendor = 'nvidia' as const;
  readonly source = 'fake-nvml';
  readonly devices: Device[];
  private readonly samples: Map<string, DeviceSample>;
  /** What `processes()` answers; tests replace it. */
  listProcesses: () => DeviceProcess[] | Promise<DeviceProcess[]> = () => [];
  /** Calls of `processes()`, to wait for the audit. */
  processCalls = 0;

  constructor() {
    const parsed = parseNvidiaSmiGpus(fixture('nvidia-smi/h200x2-idle-gpus.csv'));
    this.devices = parsed.devices;
    this.samples = new Map(parsed.samples.map((s) => [s.uuid, s]));
  }

  /** Sets a card's free memory, as if another tenant held the rest. */
  setFree(index: number, bytes: number): void {
    const d = this.devices[index];
    const s = this.samples.get(d.uuid)!;
    this.samples.set(d.uuid, { ...s, memoryFree: bytes, memoryUsed: s.memoryTotal - bytes });
  }

  async list(): Promise<Device[]> {
    return this.devices;
  }

  async sample(): Promise<DeviceSample[]> {
    return [...this.samples.values()];
  }

  async processes(): Promise<DeviceProcess[]> {
    this.processCalls++;
    return this.listProcesses();
  }

  async close(): Promise<void> {}
}
