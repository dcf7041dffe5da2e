import { GpupoolError } from '../errors/index.js';
import { DEVICE_KIND, type Device } from './device.js';

/** Every vendor's visibility variable: a CPU worker gets them all empty. */
export const VISIBILITY_VARIABLES = [
  'CUDA_VISIBLE_DEVICES',
  'ASCEND_RT_VISIBLE_DEVICES',
  'HIP_VISIBLE_DEVICES',
  'ROCR_VISIBLE_DEVICES',
] as const;

/**
 * The environment that pins a worker to its devices (docs/protocol.md §1), set before the
 * process starts so the framework inside sees only them, as device 0, 1, …
 *
 * - NVIDIA: `CUDA_VISIBLE_DEVICES=<UUID,…>` with `CUDA_DEVICE_ORDER=PCI_BUS_ID`: UUIDs
 *   mean the same card whatever order CUDA would enumerate in.
 * - Ascend: `ASCEND_RT_VISIBLE_DEVICES=<logical id,…>`: the runtime rejects host NPU ids
 *   inside a container given a subset of cards (it counts 0..n-1 there).
 * - AMD: `ROCR_VISIBLE_DEVICES=<GPU-uuid,…>` (indices where no unique id is known), then
 *   `HIP_VISIBLE_DEVICES` and `CUDA_VISIBLE_DEVICES` `0..n-1`: HIP applies its indices
 *   *within* what ROCr exposes and honours CUDA_VISIBLE_DEVICES too, so an inherited value
 *   of either would re-filter the pinned set.
 * - CPU: every visibility variable empty, so the worker cannot touch an accelerator.
 */
export function pinningEnv(devices: readonly Device[]): Record<string, string> {
  if (devices.length === 0) throw new GpupoolError('GPUPOOL_E_INTERNAL', 'pinningEnv needs at least one device.');
  const vendor = devices[0].vendor;
  if (devices.some((d) => d.vendor !== vendor)) {
    throw new GpupoolError('GPUPOOL_E_INTERNAL', `one worker cannot be pinned to devices of several vendors: ${devices.map((d) => d.key).join(', ')}.`);
  }
  const common = {
    GPUPOOL_DEVICE_KIND: DEVICE_KIND[vendor],
    GPUPOOL_DEVICE_IDS: devices.map((d) => d.index).join(','),
    GPUPOOL_DEVICE_UUIDS: devices.map((d) => d.uuid).join(','),
  };
  const ids = (f: (d: Device) => string): string => devices.map(f).join(',');
  const ordinals = devices.map((_, i) => i).join(',');
  switch (vendor) {
    case 'nvidia':
      return { CUDA_VISIBLE_DEVICES: ids((d) => d.visibleId ?? d.uuid), CUDA_DEVICE_ORDER: 'PCI_BUS_ID', ...common };
    case 'ascend':
      return { ASCEND_RT_VISIBLE_DEVICES: ids((d) => d.visibleId ?? String(d.index)), ...common };
    case 'amd':
      return {
        ROCR_VISIBLE_DEVICES: ids((d) => d.visibleId ?? String(d.index)),
        HIP_VISIBLE_DEVICES: ordinals,
        CUDA_VISIBLE_DEVICES: ordinals,
        ...common,
      };
    case 'cpu':
      return { ...Object.fromEntries(VISIBILITY_VARIABLES.map((v) => [v, ''])), ...common };
  }
}
