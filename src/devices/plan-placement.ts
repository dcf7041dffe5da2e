import { formatBytes } from '../config/units.js';
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
  /**
   * The model's name: messages then name the config's keys (`models.<name>.devices_per_worker`),
   * as the user wrote them, instead of these options.
   */
  readonly model?: string;
}

/** What a message calls an option: the config key of the model, or the option's own name. */
function optionName(option: 'workersPerDevice' | 'devicesPerWorker', options: PlacementOptions): string {
  if (options.model === undefined) return option;
  return `models.${options.model}.${option === 'workersPerDevice' ? 'workers_per_device' : 'devices_per_worker'}`;
}

/**
 * Plans the workers for the chosen devices. Workers come replica by replica (every group's
 * replica 0, then every group's replica 1), so that starting them in order gives each
 * device its first worker early.
 */
export function planWorkers(devices: readonly Device[], options: PlacementOptions = {}): WorkerPlacement[] {
  const workersPerDevice = positiveInteger(optionName('workersPerDevice', options), options.workersPerDevice ?? 1);
  const groups = deviceGroups(devices, options);
  const placements: WorkerPlacement[] = [];
  for (let replica = 0; replica < workersPerDevice; replica++) {
    for (const group of groups) placements.push({ devices: group, replica, key: placementKey(group) });
  }
  return placements;
}

/** Consecutive chosen devices, `devicesPerWorker` at a time, each group of one vendor. */
function deviceGroups(devices: readonly Device[], options: PlacementOptions): Device[][] {
  const name = optionName('devicesPerWorker', options);
  const devicesPerWorker = positiveInteger(name, options.devicesPerWorker ?? 1);
  if (devices.length === 0) throw new GpupoolError('GPUPOOL_E_CONFIG', 'no devices to place workers on: choose at least one device.');
  if (devices.length % devicesPerWorker !== 0) {
    const chosen = `${devices.length} device${devices.length === 1 ? ' was' : 's were'} chosen (${devices.map((d) => d.key).join(', ')})`;
    throw new GpupoolError(
      'GPUPOOL_E_CONFIG',
      `\`${name}\` is ${devicesPerWorker} but ${chosen}: choose a multiple of ${devicesPerWorker} devices, or a \`${name}\` that divides ${devices.length}.`,
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
  return groups;
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

/** `spread`: each device group takes its share, up to `workersPerDevice`; `pack`: as few devices as will hold them. */
export type PlacementPolicy = 'spread' | 'pack';

export interface MemoryPlacementOptions extends PlacementOptions {
  /** `memory.need`: bytes each worker needs free on every device it spans. */
  readonly need: number;
  /**
   * The need on one device, where it differs by device (a need remembered per card model:
   * mixed cards); default `need` everywhere.
   */
  readonly needOn?: (device: Device) => number;
  /** `memory.reserve`: bytes that stay free on each device. @defaultValue 0 */
  readonly reserve?: number;
  /** @defaultValue `spread` */
  readonly placement?: PlacementPolicy;
  /**
   * Free bytes per device UUID, as the driver reports them now, less what earlier
   * placements took. A device missing here cannot be checked and is taken at its word:
   * `workersPerDevice` workers.
   */
  readonly free: ReadonlyMap<string, number>;
  /** Where `need` came from when not configured, said after it in messages: `remembered: …`. */
  readonly needNote?: string;
}

/** A device group that has no room for one worker. */
export interface SkippedPlacement {
  readonly key: string;
  /** Free bytes of each device of the group, in order. */
  readonly free: readonly number[];
  readonly message: string;
}

export interface MemoryPlacement {
  readonly workers: WorkerPlacement[];
  readonly skipped: SkippedPlacement[];
  /** Bytes the planned workers take, per device UUID: what later placements must not count on. */
  readonly taken: Map<string, number>;
}

/**
 * Plans workers where there is room: a worker goes to a device group only if every device
 * of it has `need` bytes free above `reserve`. Free memory counts, never a fraction of the
 * total: other tenants exist. The count is what {@link planWorkers} would start
 * (`workersPerDevice` on each group); `spread` gives each group up to that many, skipping
 * groups without room; `pack` fills the fullest groups that still have room first (best
 * fit), as many workers each as fit, leaving other cards whole.
 *
 * @throws GpupoolError GPUPOOL_E_NO_DEVICE_FITS, naming each device's free memory, when no
 *   group has room for a single worker.
 */
export function planWorkersByMemory(devices: readonly Device[], options: MemoryPlacementOptions): MemoryPlacement {
  const workersPerDevice = positiveInteger(optionName('workersPerDevice', options), options.workersPerDevice ?? 1);
  const groups = deviceGroups(devices, options);
  const reserve = options.reserve ?? 0;
  const needOn = (d: Device): number => options.needOn?.(d) ?? options.need;
  const room = (d: Device): number | undefined => {
    const free = options.free.get(d.uuid);
    return free === undefined ? undefined : free - reserve;
  };
  const capacity = (group: readonly Device[]): number =>
    Math.min(...group.map((d) => {
      const r = room(d);
      return r === undefined ? workersPerDevice : Math.max(0, Math.floor(r / needOn(d)));
    }));
  const counts = new Map<Device[], number>(groups.map((g) => [g, 0]));
  if ((options.placement ?? 'spread') === 'spread') {
    for (const g of groups) counts.set(g, Math.min(workersPerDevice, capacity(g)));
  } else {
    let left = workersPerDevice * groups.length;
    const tightest = (g: readonly Device[]): number => Math.min(...g.map((d) => room(d) ?? Number.MAX_SAFE_INTEGER));
    const order = groups.map((g, i) => ({ g, i })).sort((a, b) => tightest(a.g) - tightest(b.g) || a.i - b.i);
    for (const { g } of order) {
      const n = Math.min(left, capacity(g));
      counts.set(g, n);
      left -= n;
    }
  }
  const skipped = groups.filter((g) => capacity(g) === 0).map((g) => skippedGroup(g, options, reserve));
  const most = Math.max(...counts.values());
  if (most === 0) throw noDeviceFits(groups, options, reserve);
  const workers: WorkerPlacement[] = [];
  for (let replica = 0; replica < most; replica++) {
    for (const g of groups) if (replica < counts.get(g)!) workers.push({ devices: g, replica, key: placementKey(g) });
  }
  const taken = new Map<string, number>();
  for (const w of workers) for (const d of w.devices) taken.set(d.uuid, (taken.get(d.uuid) ?? 0) + needOn(d));
  return { workers, skipped, taken };
}

function freeText(d: Device, options: MemoryPlacementOptions): string {
  const free = options.free.get(d.uuid);
  return `${d.key} has ${free === undefined ? 'unknown' : formatBytes(Math.max(0, free))} free`;
}

/** The need said in messages: of `group` where it is given (a skipped group), else the largest. */
function needText(options: MemoryPlacementOptions, reserve: number, group?: readonly Device[]): string {
  const keep = reserve > 0 ? ` plus memory.reserve ${formatBytes(reserve)}` : '';
  const from = options.needNote ? ` (${options.needNote})` : '';
  const need = group && options.needOn ? Math.max(...group.map((d) => options.needOn!(d))) : options.need;
  return `memory.need ${formatBytes(need)}${from}${keep}`;
}

function skippedGroup(group: readonly Device[], options: MemoryPlacementOptions, reserve: number): SkippedPlacement {
  const key = placementKey(group);
  const model = options.model === undefined ? 'a worker' : `a worker of "${options.model}"`;
  return {
    key,
    free: group.map((d) => options.free.get(d.uuid) ?? Number.NaN),
    message: `no room on ${key} for ${model} (${needText(options, reserve, group)}): ${group.map((d) => freeText(d, options)).join(', ')}`,
  };
}

function noDeviceFits(groups: readonly Device[][], options: MemoryPlacementOptions, reserve: number): GpupoolError {
  const model = options.model === undefined ? '' : `model "${options.model}": `;
  const devices = groups.flat().map((d) => freeText(d, options)).join(', ');
  return new GpupoolError(
    'GPUPOOL_E_NO_DEVICE_FITS',
    `${model}no device has room for one worker needing ${needText(options, reserve)}: ${devices}.`,
  );
}
