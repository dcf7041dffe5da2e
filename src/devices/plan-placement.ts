import { GpupoolError } from '../errors/index.js';
import { DEVICE_KIND, type Device } from './device.js';

/** One worker to start: the devices it is pinned to and which replica of them it is. */
export interface WorkerPlacement {
  readonly devices: readonly Device[];
  /** 0-based among the workers sharing these devices. */
  readonly replica: number;
  /** `cuda:6`, or `cuda:6+7` for a worker spanning two cards. */
  readonly key: string;
}

export interface PlacementOptions {
  /**
   * Workers sharing each device (or device group): more than one keeps a card busy while
   * one worker prepares its next batch on the CPU.
   * @defaultValue 1
   */
  readonly workersPerDevice?: number;
  /**
   * Devices each worker spans (tensor-parallel models); consecutive chosen devices are grouped.
   * @defaultValue 1
   */
  readonly devicesPerWorker?: number;
}

/**
 * Plans the workers for the chosen devices. Workers come replica by replica (every group's
 * replica 0, then every group's replica 1), so that starting them in order gives each
 * device its first worker early.
 */
export function planWorkers(devices: readonly Device[], options: PlacementOptions = {}): WorkerPlacement[] {
  const workersPerDevice = positiveInteger('workersPerDevice', options.workersPerDevice ?? 1);
  const devicesPerWorker = positiveInteger('devicesPerWorker', options.devicesPerWorker ?? 1);
  if (devices.length === 0) throw new GpupoolError('GPUPOOL_E_CONFIG', 'no devices to place workers on: choose at least one device.');
  if (devices.length % devicesPerWorker !== 0) {
    throw new GpupoolError(
      'GPUPOOL_E_CONFIG',
      `\`devicesPerWorker\` is ${devicesPerWorker} but ${devices.length} devices were chosen (${devices.map((d) => d.key).join(', ')}): choose a multiple of ${devicesPerWorker} devices, or a \`devicesPerWorker\` that divides ${devices.length}.`,
    );
  }
  const groups: Device[][] = [];
  for (let i = 0; i < devices.length; i += devicesPerWorker) {
    const group = devices.slice(i, i + devicesPerWorker);
    if (new Set(group.map((d) => d.vendor)).size > 1) {
      throw new GpupoolError(
        'GPUPOOL_E_CONFIG',
        `one worker cannot span devices of different vendors (${group.map((d) => d.key).join(', ')}): order the devices so that each group of ${devicesPerWorker} is of one kind.`,
      );
    }
    groups.push(group);
  }
  const placements: WorkerPlacement[] = [];
  for (let replica = 0; replica < workersPerDevice; replica++) {
    for (const group of groups) placements.push({ devices: group, replica, key: placementKey(group) });
  }
  return placements;
}

/** `cuda:6` for one device, `cuda:6+7` for a group. */
export function placementKey(devices: readonly Device[]): string {
  return `${DEVICE_KIND[devices[0].vendor]}:${devices.map((d) => d.index).join('+')}`;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new GpupoolError('GPUPOOL_E_CONFIG', `\`${name}\` must be an integer ≥ 1, got "${String(value)}".`);
  }
  return value;
}
