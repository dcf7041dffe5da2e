import { createRequire } from 'node:module';
import { DeviceToolError } from './device-tool-error.js';

/** nvmlReturn_t values we branch on (nvml.h). */
export const NVML_SUCCESS = 0;
export const NVML_ERROR_NOT_SUPPORTED = 3;
export const NVML_ERROR_INSUFFICIENT_SIZE = 7;
/** `(unsigned long long)-1`: usedGpuMemory when the driver will not say (containers, Windows). */
export const NVML_VALUE_NOT_AVAILABLE = 0xffffffffffffffffn;
/** sizeof(nvmlProcessInfo_t) in v2/v3: pid, pad, usedGpuMemory, gpuInstanceId, computeInstanceId. */
export const NVML_PROCESS_INFO_V2_SIZE = 24;
/** sizeof(nvmlProcessInfo_v1_t): pid, pad, usedGpuMemory. */
export const NVML_PROCESS_INFO_V1_SIZE = 16;

/** Opaque `nvmlDevice_t` as koffi hands it back. */
export type NvmlHandle = unknown;

export interface NvmlMemory {
  total: number | bigint;
  free: number | bigint;
  used: number | bigint;
}

/** The NVML entry points gpupool uses, bound through koffi. */
export interface NvmlBindings {
  init(): number;
  shutdown(): number;
  errorString(code: number): string;
  getCount(out: number[]): number;
  getHandleByIndex(index: number, out: NvmlHandle[]): number;
  getName(device: NvmlHandle, buf: Buffer, length: number): number;
  getUuid(device: NvmlHandle, buf: Buffer, length: number): number;
  /** Fills a 68-byte nvmlPciInfo_t (v3 layout); absent on drivers older than the call. */
  getPciInfo?: (device: NvmlHandle, buf: Buffer) => number;
  getMemoryInfo(device: NvmlHandle, out: NvmlMemory): number;
  getUtilization(device: NvmlHandle, out: { gpu: number; memory: number }): number;
  /** The newest compute-process call the driver exports, with its struct size. */
  getComputeProcesses: (device: NvmlHandle, count: number[], infos: Buffer | null) => number;
  processInfoSize: number;
}

interface KoffiLib {
  func(signature: string): (...args: unknown[]) => unknown;
}

interface Koffi {
  load(path: string): KoffiLib;
  opaque(name?: string): unknown;
  pointer(name: string, type: unknown): unknown;
  struct(name: string, fields: Record<string, string>): unknown;
}

let typesDeclared = false;

/**
 * Loads libnvidia-ml through koffi. Throws {@link DeviceToolError} where koffi or the
 * library is absent (no NVIDIA driver, or koffi's native part missing from a bundle):
 * discovery then falls back to `nvidia-smi`.
 */
export function loadNvml(libraryPath: string): NvmlBindings {
  let koffi: Koffi;
  try {
    // koffi is native: a static import would take the whole CLI down where it cannot load.
    koffi = createRequire(import.meta.url)('koffi') as Koffi;
  } catch (err) {
    throw new DeviceToolError('nvml', `koffi cannot be loaded: ${(err as Error).message}`, { cause: err });
  }
  let lib: KoffiLib;
  try {
    lib = koffi.load(libraryPath);
  } catch (err) {
    throw new DeviceToolError('nvml', `cannot load ${libraryPath}: ${(err as Error).message}`, { cause: err });
  }
  if (!typesDeclared) {
    // koffi registers type names globally: declare them once per process.
    koffi.pointer('nvmlDevice_t', koffi.opaque('nvmlDevice_st'));
    koffi.struct('nvmlMemory_t', { total: 'unsigned long long', free: 'unsigned long long', used: 'unsigned long long' });
    koffi.struct('nvmlUtilization_t', { gpu: 'unsigned int', memory: 'unsigned int' });
    typesDeclared = true;
  }
  const optional = (signature: string): ((...args: unknown[]) => unknown) | undefined => {
    try {
      return lib.func(signature);
    } catch {
      return undefined; // symbol absent in this driver
    }
  };
  const required = (signature: string): ((...args: unknown[]) => unknown) => {
    const fn = optional(signature);
    if (!fn) throw new DeviceToolError('nvml', `${libraryPath} lacks ${signature}`);
    return fn;
  };

  const v3 = optional('int nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t, _Inout_ unsigned int *, void *)');
  const v2 = v3 ? undefined : optional('int nvmlDeviceGetComputeRunningProcesses_v2(nvmlDevice_t, _Inout_ unsigned int *, void *)');
  const v1 = v3 || v2 ? undefined : required('int nvmlDeviceGetComputeRunningProcesses(nvmlDevice_t, _Inout_ unsigned int *, void *)');
  const procs = (v3 ?? v2 ?? v1) as NvmlBindings['getComputeProcesses'];
  const pci = optional('int nvmlDeviceGetPciInfo_v3(nvmlDevice_t, _Out_ uint8_t *)');
  const errorString = required('const char *nvmlErrorString(int)');

  return {
    init: required('int nvmlInit_v2()') as NvmlBindings['init'],
    shutdown: required('int nvmlShutdown()') as NvmlBindings['shutdown'],
    errorString: (code) => String(errorString(code)),
    getCount: required('int nvmlDeviceGetCount_v2(_Out_ unsigned int *)') as NvmlBindings['getCount'],
    getHandleByIndex: required('int nvmlDeviceGetHandleByIndex_v2(unsigned int, _Out_ nvmlDevice_t *)') as NvmlBindings['getHandleByIndex'],
    getName: required('int nvmlDeviceGetName(nvmlDevice_t, _Out_ uint8_t *, unsigned int)') as NvmlBindings['getName'],
    getUuid: required('int nvmlDeviceGetUUID(nvmlDevice_t, _Out_ uint8_t *, unsigned int)') as NvmlBindings['getUuid'],
    ...(pci ? { getPciInfo: pci as NonNullable<NvmlBindings['getPciInfo']> } : {}),
    getMemoryInfo: required('int nvmlDeviceGetMemoryInfo(nvmlDevice_t, _Out_ nvmlMemory_t *)') as NvmlBindings['getMemoryInfo'],
    getUtilization: required('int nvmlDeviceGetUtilizationRates(nvmlDevice_t, _Out_ nvmlUtilization_t *)') as NvmlBindings['getUtilization'],
    getComputeProcesses: procs,
    processInfoSize: v1 ? NVML_PROCESS_INFO_V1_SIZE : NVML_PROCESS_INFO_V2_SIZE,
  };
}
