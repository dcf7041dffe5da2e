import { attributeProcesses, readProcessFacts, type DeviceProcessSample, type WorkerAssignment } from '../audit/index.js';
import type { Device, DeviceProvider } from '../devices/device.js';
import { formatBytes } from '../config/index.js';
import type { MeasuredNeed, MeasuredNeedStore } from './measured-need-store.js';
import type { PoolEvent } from './pool-options.js';

/** The workers a measurement looks at, as they are now. */
export interface MeasuredWorker {
  readonly id: string;
  readonly model: string;
  readonly pid?: number;
  readonly devices: readonly Device[];
}

export interface NeedMeasurerOptions {
  readonly providers: readonly DeviceProvider[];
  readonly store: MeasuredNeedStore;
  /** Model name → fingerprint, for the models without a configured `memory.need`. */
  readonly models: ReadonlyMap<string, string>;
  readonly workers: () => readonly MeasuredWorker[];
  /** Each measurement that raised what is remembered. */
  readonly onRecorded?: (need: MeasuredNeed) => void;
  /** @defaultValue `/proc` */
  readonly procRoot?: string;
}

/** Batches of a model after which its workers are measured: the first few, where the peak forms. */
const MEASURE_AFTER_BATCHES = new Set([1, 2, 4, 8, 16, 32, 64]);

/**
 * Measures what a model's workers hold on their devices, for a later run to place by:
 * once the workers are ready, after the model's first batches, and at the drain. Each
 * worker's memory is that of its process and its children on each device it was given,
 * attributed as the stray audit does (driver per-process memory, /proc parent chains and
 * `GPUPOOL_WORKER_ID`). The peak per (model, device name) is kept in the store.
 */
export class NeedMeasurer {
  private readonly batches = new Map<string, number>();
  /** Models whose workers ran out of device memory in this run: see {@link afterOutOfMemory}. */
  private readonly filled = new Set<string>();
  private running?: Promise<void>;
  private again = false;
  private stopped = false;

  constructor(private readonly options: NeedMeasurerOptions) {}

  afterBatch(model: string): void {
    if (!this.options.models.has(model)) return;
    const n = (this.batches.get(model) ?? 0) + 1;
    this.batches.set(model, n);
    if (MEASURE_AFTER_BATCHES.has(n)) void this.measure();
  }

  /**
   * A worker of `model` ran out of device memory: from now on its workers hold what the card had
   * room for (the batches grew into it; PyTorch's allocator keeps it), not what the model needs,
   * and remembering that would refuse the next start on a card as free as this one was. Its need
   * stays the peak measured before, at the sizes that fitted.
   */
  afterOutOfMemory(model: string): void {
    this.filled.add(model);
  }

  /** Measures now, or once more after the measurement under way. Never rejects. */
  measure(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    const run = async (): Promise<void> => {
      do {
        this.again = false;
        await this.measureOnce().catch(() => undefined); // a driver that fails now is read at the next chance
      } while (this.again && !this.stopped);
    };
    this.running = run().finally(() => (this.running = undefined));
    return this.running;
  }

  /** The last measurement, while the workers still hold their memory (before the drain stops them). */
  async finish(): Promise<void> {
    await this.measure();
    await this.running;
    this.stopped = true;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  private async measureOnce(): Promise<void> {
    const workers = this.options.workers().filter((w) => this.options.models.has(w.model) && !this.filled.has(w.model) && w.pid !== undefined);
    if (workers.length === 0) return;
    const accelerators = this.options.providers.filter((p) => p.vendor !== 'cpu');
    const listed = (await Promise.all(accelerators.map((p) => p.processes()))).flat();
    const keys = new Map(workers.flatMap((w) => w.devices.map((d) => [d.uuid, d.key] as const)));
    const processes: DeviceProcessSample[] = listed.map((p) => ({
      pid: p.pid,
      deviceUuid: p.deviceUuid,
      deviceKey: keys.get(p.deviceUuid) ?? p.deviceUuid,
      ...(p.usedMemory === undefined ? {} : { usedMemory: p.usedMemory }),
    }));
    const assignments: WorkerAssignment[] = workers.map((w) => ({ worker: w.id, model: w.model, pid: w.pid!, deviceKeys: w.devices.map((d) => d.key) }));
    const facts = await readProcessFacts(processes.map((p) => p.pid), { procRoot: this.options.procRoot, stopAt: new Set(assignments.map((a) => a.pid!)) });
    const { ours } = attributeProcesses({ at: Date.now(), processes, facts }, assignments, process.pid);
    // Per worker and device: the worker's whole tree there. A device it was not given is a stray, not its need.
    const held = new Map<string, number>();
    for (const p of ours) held.set(`${p.worker}\0${p.deviceUuid}`, (held.get(`${p.worker}\0${p.deviceUuid}`) ?? 0) + (p.usedMemory ?? 0));
    const peaks = new Map<string, MeasuredNeed>();
    const at = new Date().toISOString();
    for (const w of workers) {
      for (const d of w.devices.filter((x) => x.vendor !== 'cpu')) {
        const bytes = held.get(`${w.id}\0${d.uuid}`) ?? 0;
        const key = `${w.model}\0${d.name}`;
        if (bytes > 0 && bytes > (peaks.get(key)?.bytes ?? 0)) {
          peaks.set(key, { model: w.model, fingerprint: this.options.models.get(w.model)!, device: d.name, bytes, measuredAt: at });
        }
      }
    }
    // An out-of-memory that came while the driver was read: what was read may be the card's limit already.
    const kept = [...peaks.values()].filter((n) => !this.filled.has(n.model));
    if (kept.length === 0) return;
    for (const need of this.options.store.record(kept)) this.options.onRecorded?.(need);
  }
}

/** The `need-measured` event for a measurement kept: `holder` is `worker` or `replica`. */
export function needMeasuredEvent(need: MeasuredNeed, holder: 'worker' | 'replica', file: string): PoolEvent {
  const message = `model "${need.model}": a ${holder} held ${formatBytes(need.bytes)} on ${need.device}; remembered in ${file} for placing the next start`;
  return { type: 'need-measured', model: need.model, device: need.device, bytes: need.bytes, message };
}
