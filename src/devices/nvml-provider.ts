import { deviceKey, type Device, type DeviceProcess, type DeviceProvider, type DeviceSample } from './device.js';
import { DeviceToolError } from './device-tool-error.js';
import {
  loadNvml,
  NVML_ERROR_INSUFFICIENT_SIZE,
  NVML_SUCCESS,
  NVML_VALUE_NOT_AVAILABLE,
  type NvmlBindings,
  type NvmlHandle,
} from './nvml-bindings.js';

/** @defaultValue the soname the NVIDIA driver installs on the loader path. */
export const NVML_LIBRARY = 'libnvidia-ml.so.1';

/** NVML_DEVICE_NAME_V2_BUFFER_SIZE and NVML_DEVICE_UUID_V2_BUFFER_SIZE. */
const STRING_BUFFER = 96;
/** Processes can start between the sizing call and the filling call: retry a few times. */
const PROCESS_LIST_ATTEMPTS = 4;

/**
 * NVIDIA devices through NVML, called in-process with koffi: about 10 µs a memory reading
 * against tens of milliseconds for an `nvidia-smi` process. NVML numbers devices in PCI
 * bus order and ignores CUDA_VISIBLE_DEVICES: it sees the host (or container) as it is.
 */
export class NvmlProvider implements DeviceProvider {
  readonly vendor = 'nvidia' as const;
  readonly source = 'nvml';
  private readonly handles: NvmlHandle[];
  private readonly devices: Device[];
  private closed = false;

  private constructor(private readonly nvml: NvmlBindings) {
    const count = [0];
    this.check(nvml.getCount(count), 'nvmlDeviceGetCount_v2');
    this.handles = [];
    this.devices = [];
    for (let index = 0; index < count[0]; index++) {
      const out: NvmlHandle[] = [null];
      this.check(nvml.getHandleByIndex(index, out), `nvmlDeviceGetHandleByIndex_v2(${index})`);
      this.handles.push(out[0]);
      this.devices.push(this.describe(index, out[0]));
    }
  }

  /**
   * Loads and initialises NVML; null where the library is absent or NVML cannot start
   * (no driver, driver/library mismatch), so discovery moves on to `nvidia-smi`.
   */
  static open(libraryPath: string = NVML_LIBRARY): NvmlProvider | null {
    let nvml: NvmlBindings;
    try {
      nvml = loadNvml(libraryPath);
    } catch {
      return null;
    }
    if (nvml.init() !== NVML_SUCCESS) return null;
    try {
      return new NvmlProvider(nvml);
    } catch {
      nvml.shutdown();
      return null;
    }
  }

  async list(): Promise<Device[]> {
    return [...this.devices];
  }

  async sample(): Promise<DeviceSample[]> {
    return this.devices.map((device, i) => {
      const memory = { total: 0, free: 0, used: 0 } as { total: number | bigint; free: number | bigint; used: number | bigint };
      this.check(this.nvml.getMemoryInfo(this.handles[i], memory), `nvmlDeviceGetMemoryInfo(${device.index})`);
      const rates = { gpu: 0, memory: 0 };
      // MIG-enabled and some virtual GPUs do not report utilisation: leave it undefined.
      const utilization = this.nvml.getUtilization(this.handles[i], rates) === NVML_SUCCESS ? rates.gpu : undefined;
      return {
        uuid: device.uuid,
        memoryTotal: Number(memory.total),
        memoryFree: Number(memory.free),
        memoryUsed: Number(memory.used),
        ...(utilization === undefined ? {} : { utilization }),
      };
    });
  }

  async processes(): Promise<DeviceProcess[]> {
    return this.devices.flatMap((device, i) => this.deviceProcesses(device, this.handles[i]));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.nvml.shutdown();
  }

  private deviceProcesses(device: Device, handle: NvmlHandle): DeviceProcess[] {
    const size = this.nvml.processInfoSize;
    let capacity = 0;
    for (let attempt = 0; attempt < PROCESS_LIST_ATTEMPTS; attempt++) {
      const count = [capacity];
      const buffer = capacity > 0 ? Buffer.alloc(capacity * size) : null;
      const rc = this.nvml.getComputeProcesses(handle, count, buffer);
      if (rc === NVML_ERROR_INSUFFICIENT_SIZE) {
        capacity = count[0] + 8; // room for processes that start meanwhile
        continue;
      }
      this.check(rc, `nvmlDeviceGetComputeRunningProcesses(${device.index})`);
      if (!buffer) return [];
      const processes: DeviceProcess[] = [];
      for (let k = 0; k < count[0]; k++) {
        const pid = buffer.readUInt32LE(k * size);
        const used = buffer.readBigUInt64LE(k * size + 8);
        processes.push({
          pid,
          deviceUuid: device.uuid,
          ...(used === NVML_VALUE_NOT_AVAILABLE ? {} : { usedMemory: Number(used) }),
        });
      }
      return processes;
    }
    throw new DeviceToolError('nvml', `the process list of ${device.key} kept growing across ${PROCESS_LIST_ATTEMPTS} reads`);
  }

  private describe(index: number, handle: NvmlHandle): Device {
    const name = this.readString((buf) => this.nvml.getName(handle, buf, STRING_BUFFER), `nvmlDeviceGetName(${index})`);
    const uuid = this.readString((buf) => this.nvml.getUuid(handle, buf, STRING_BUFFER), `nvmlDeviceGetUUID(${index})`);
    const memory = { total: 0, free: 0, used: 0 } as { total: number | bigint; free: number | bigint; used: number | bigint };
    this.check(this.nvml.getMemoryInfo(handle, memory), `nvmlDeviceGetMemoryInfo(${index})`);
    const pciBusId = this.pciBusId(handle);
    return {
      key: deviceKey('nvidia', index),
      vendor: 'nvidia',
      index,
      uuid,
      name,
      ...(pciBusId ? { pciBusId } : {}),
      memoryTotal: Number(memory.total),
      visibleId: uuid,
    };
  }

  private pciBusId(handle: NvmlHandle): string | undefined {
    if (!this.nvml.getPciInfo) return undefined;
    // nvmlPciInfo_t: busIdLegacy[16], domain, bus, device, pciDeviceId, pciSubSystemId, busId[32].
    const buf = Buffer.alloc(68);
    if (this.nvml.getPciInfo(handle, buf) !== NVML_SUCCESS) return undefined;
    return cString(buf.subarray(36, 68)) || undefined;
  }

  private readString(fill: (buf: Buffer) => number, what: string): string {
    const buf = Buffer.alloc(STRING_BUFFER);
    this.check(fill(buf), what);
    return cString(buf);
  }

  private check(rc: number, what: string): void {
    if (rc !== NVML_SUCCESS) throw new DeviceToolError('nvml', `${what} returned ${rc} (${this.nvml.errorString(rc)})`);
  }
}

function cString(buf: Buffer): string {
  const end = buf.indexOf(0);
  return buf.subarray(0, end < 0 ? buf.length : end).toString('utf8');
}
