/** The accelerator families gpupool can pin a worker to; `cpu` is the fallback device. */
export type Vendor = 'nvidia' | 'ascend' | 'amd' | 'cpu';

/**
 * One device as `gpupool devices` shows it. `index` is the host's own numbering (PCI bus
 * order, as the vendor's SMI tool prints it), never the index inside a restricted view.
 */
export interface Device {
  /** Stable name used in logs, metrics and worker ids: `cuda:6`, `npu:2`, `rocm:1`, `cpu:0`. */
  readonly key: string;
  readonly vendor: Vendor;
  readonly index: number;
  /** Vendor UUID (`GPU-…` for NVIDIA); `cpu` for the CPU device. */
  readonly uuid: string;
  readonly name: string;
  /** PCI bus id where known (`00000000:1B:00.0`). */
  readonly pciBusId?: string;
  /** Bytes; 0 where the driver does not report it (unified-memory parts). For the CPU device: host memory. */
  readonly memoryTotal: number;
  /**
   * What the vendor's visibility variable takes to expose this device, where it differs
   * from `index`: the UUID for NVIDIA, the runtime's logical id for Ascend (the position
   * among the NPUs this host shows, which is not the `npu-smi` NPU id inside a container
   * given a subset of cards), the `GPU-…` unique id for AMD's `ROCR_VISIBLE_DEVICES`.
   * Undefined means: the index.
   */
  readonly visibleId?: string;
}

/** The family prefix of device keys and of `GPUPOOL_DEVICE_KIND`. */
export type DeviceKind = 'cuda' | 'npu' | 'rocm' | 'cpu';

export const DEVICE_KIND: Readonly<Record<Vendor, DeviceKind>> = {
  nvidia: 'cuda',
  ascend: 'npu',
  amd: 'rocm',
  cpu: 'cpu',
};

/** The key every log line, metric and worker id uses for a device: `cuda:6`. */
export function deviceKey(vendor: Vendor, index: number): string {
  return `${DEVICE_KIND[vendor]}:${index}`;
}

/** A point-in-time reading of one device. */
export interface DeviceSample {
  readonly uuid: string;
  readonly memoryUsed: number;
  readonly memoryFree: number;
  readonly memoryTotal: number;
  /** 0..100, undefined where the vendor tool does not report it. */
  readonly utilization?: number;
}

/** A process holding device memory, as the driver reports it. */
export interface DeviceProcess {
  readonly pid: number;
  readonly deviceUuid: string;
  /** Bytes; undefined when the driver hides it (some containers). */
  readonly usedMemory?: number;
}

/**
 * A source of device facts for one vendor. Implementations: NVML (koffi), nvidia-smi,
 * npu-smi, rocm-smi, cpu. All return the host's full device list; visibility restrictions
 * are applied by selection, not here.
 */
export interface DeviceProvider {
  readonly vendor: Vendor;
  /** How the facts are read, for `gpupool doctor` and logs: `nvml`, `nvidia-smi`, … */
  readonly source: string;
  list(): Promise<Device[]>;
  sample(): Promise<DeviceSample[]>;
  processes(): Promise<DeviceProcess[]>;
  close(): Promise<void>;
}
