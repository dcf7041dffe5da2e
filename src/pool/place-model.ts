import { formatBytes, type ModelConfig } from '../config/index.js';
import type { Device, DeviceProvider, DeviceSample } from '../devices/device.js';
import { planWorkers, planWorkersByMemory, type WorkerPlacement } from '../devices/index.js';
import { chooseNeed, needPerDevice } from './choose-need.js';
import type { MeasuredNeedStore } from './measured-need-store.js';
import type { PoolEvent } from './pool-options.js';

/** Free bytes per device UUID now, from every provider that can tell (one that fails tells nothing). */
export async function readFreeMemory(providers: readonly DeviceProvider[]): Promise<Map<string, number>> {
  const samples = (await Promise.all(providers.map((p) => p.sample().catch(() => [] as DeviceSample[])))).flat();
  return new Map(samples.map((s) => [s.uuid, s.memoryFree]));
}

export interface PlaceModelOptions {
  /** The config's folder: a remembered need is keyed by the model's command resolved from it. */
  readonly baseDir: string;
  readonly measuredNeeds?: MeasuredNeedStore;
  /**
   * Free bytes per device UUID, read once and shared by every model placed from it: each
   * model's workers take their need from it, so the next model sees what is left.
   */
  readonly free: () => Promise<Map<string, number>>;
  readonly emit: (event: PoolEvent) => void;
}

/**
 * Where a model's workers (or `kind: http` replicas) go among the chosen devices. With a
 * `memory.need`, configured or remembered from an earlier run, only on devices with room,
 * `spread` or `pack`; refused with each device's free memory when nothing fits. Without
 * one, `workers_per_device` on every chosen device.
 *
 * @throws GpupoolError GPUPOOL_E_NO_DEVICE_FITS, naming each device's free memory, when no
 *   chosen device has room for one worker.
 */
export async function placeModel(model: ModelConfig, selected: readonly Device[], options: PlaceModelOptions): Promise<WorkerPlacement[]> {
  const need = chooseNeed(model, options.baseDir, selected, options.measuredNeeds);
  if (need === undefined) return planWorkers(selected, { workersPerDevice: model.workers_per_device, devicesPerWorker: model.devices_per_worker, model: model.name });
  if (need.source === 'measured') {
    options.emit({ type: 'memory-need', model: model.name, need: need.bytes, source: 'measured', message: `model "${model.name}" has no memory.need: placing by ${need.byDeviceName ? 'the need of each card model' : formatBytes(need.bytes)} (${need.note})` });
  }
  const free = await options.free();
  const plan = planWorkersByMemory(selected, {
    need: need.bytes,
    ...needPerDevice(need),
    needNote: need.note,
    reserve: model.memory.reserve,
    placement: model.placement,
    free,
    model: model.name,
    workersPerDevice: model.workers_per_device,
    devicesPerWorker: model.devices_per_worker,
  });
  for (const [uuid, bytes] of plan.taken) if (free.has(uuid)) free.set(uuid, free.get(uuid)! - bytes);
  for (const s of plan.skipped) options.emit({ type: 'placement-skipped', model: model.name, device: s.key, message: s.message });
  return plan.workers;
}
