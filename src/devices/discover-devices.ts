import { CpuProvider } from './cpu-provider.js';
import type { Device, DeviceProvider } from './device.js';
import { driverPidsAreOurs, HostPidTranslatingProvider } from './host-pids.js';
import { isDeviceToolError } from './device-tool-error.js';
import { NpuSmiProvider, NPU_SMI_FALLBACKS } from './npu-smi-provider.js';
import { NvidiaSmiProvider } from './nvidia-smi-provider.js';
import { NVML_LIBRARY, NvmlProvider } from './nvml-provider.js';
import { RocmSmiProvider, ROCM_SMI_FALLBACKS } from './rocm-smi-provider.js';
import { findExecutable } from './run-device-tool.js';

/**
 * Environment overrides, read once here:
 * - `GPUPOOL_NVML_LIB`: the NVML library to load. @defaultValue `libnvidia-ml.so.1`
 * - `GPUPOOL_NO_NVML=1`: skip NVML and read NVIDIA devices through `nvidia-smi`.
 * - `GPUPOOL_NVIDIA_SMI`, `GPUPOOL_NPU_SMI`, `GPUPOOL_ROCM_SMI`: the tools to run.
 *   @defaultValue found on PATH, then the vendor's install location.
 */
export interface DiscoveryOptions {
  /** @defaultValue `process.env` */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** Why a source was passed over, for `gpupool doctor` and debug logs. */
export interface SkippedSource {
  readonly source: string;
  readonly reason: string;
}

/**
 * Opens one provider per accelerator family present: NVML, else `nvidia-smi`; `npu-smi`;
 * `rocm-smi`; and always the CPU last. A family whose tool is missing or fails is skipped
 * (see `skipped`): a broken driver must not stop a CPU job.
 */
export async function openDeviceProviders(
  options: DiscoveryOptions = {},
  skipped: SkippedSource[] = [],
): Promise<DeviceProvider[]> {
  const env = options.env ?? process.env;
  const providers: DeviceProvider[] = [];

  let nvidia: DeviceProvider | undefined;
  if (env.GPUPOOL_NO_NVML !== '1') {
    const nvml = NvmlProvider.open(env.GPUPOOL_NVML_LIB || NVML_LIBRARY);
    if (nvml && (await nvml.list()).length > 0) nvidia = nvml;
    else {
      await nvml?.close();
      skipped.push({ source: 'nvml', reason: nvml ? 'no devices' : `${env.GPUPOOL_NVML_LIB || NVML_LIBRARY} could not be loaded or initialised` });
    }
  }
  nvidia ??= await probe('nvidia-smi', await findExecutable('nvidia-smi', env.GPUPOOL_NVIDIA_SMI, [], env.PATH), (p) => new NvidiaSmiProvider(p), skipped);
  if (nvidia) providers.push(nvidia);

  const npu = await probe('npu-smi', await findExecutable('npu-smi', env.GPUPOOL_NPU_SMI, NPU_SMI_FALLBACKS, env.PATH), (p) => new NpuSmiProvider(p), skipped);
  if (npu) providers.push(npu);

  const rocm = await probe('rocm-smi', await findExecutable('rocm-smi', env.GPUPOOL_ROCM_SMI, ROCM_SMI_FALLBACKS, env.PATH), (p) => new RocmSmiProvider(p), skipped);
  if (rocm) providers.push(rocm);

  // In a PID namespace of its own (a container) a driver may report the host's PIDs: found out, and translated where so (host-pids.ts).
  const translated = driverPidsAreOurs() ? providers : providers.map((p) => new HostPidTranslatingProvider(p));
  translated.push(new CpuProvider());
  return translated;
}

/** Keeps a tool's provider only if it answers with at least one device. */
async function probe(
  source: string,
  executable: string | undefined,
  create: (path: string) => DeviceProvider,
  skipped: SkippedSource[],
): Promise<DeviceProvider | undefined> {
  if (!executable) {
    skipped.push({ source, reason: 'not found' });
    return undefined;
  }
  const provider = create(executable);
  try {
    if ((await provider.list()).length > 0) return provider;
    skipped.push({ source, reason: 'no devices' });
  } catch (err) {
    if (!isDeviceToolError(err)) throw err;
    skipped.push({ source, reason: err.message });
  }
  await provider.close();
  return undefined;
}

/** Every device the providers list, in their order. */
export async function listDevices(providers: readonly DeviceProvider[]): Promise<Device[]> {
  return (await Promise.all(providers.map((p) => p.list()))).flat();
}

/** Closes every provider (NVML holds a driver handle until shut down). */
export async function closeDeviceProviders(providers: readonly DeviceProvider[]): Promise<void> {
  await Promise.all(providers.map((p) => p.close()));
}
