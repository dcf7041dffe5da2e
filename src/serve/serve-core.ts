import path from 'node:path';
import type { DeviceProvider } from '../devices/device.js';
import { GpupoolError } from '../errors/index.js';
import { MeasuredNeedStore, Pool, type PoolEvent } from '../pool/index.js';
import type { FailureKind } from '../protocol/index.js';
import type { DispatchTarget } from '../scheduler/index.js';
import { DeviceMonitor } from './device-monitor.js';
import type { HttpModels } from '../replicas/index.js';
import { ownerSink } from './item-owner.js';
import type { LimitStore } from './limit-store.js';
import { RateCounter } from './rate-counter.js';
import { RecentErrors } from './recent-errors.js';
import { ServedModel } from './served-model.js';
import type { ResolvedServeOptions } from './serve-options.js';
import { exitSummary } from '../worker/index.js';

export type ServePhase = 'starting' | 'ready' | 'closing';

/** Who wants to hear about every batch (metrics) and about a model going down (jobs). */
export interface CoreObserver {
  batch?(model: string, worker: string, size: number, ms: number, outcome: 'ok' | FailureKind | 'lost'): void;
  modelDown?(model: string, err: GpupoolError): void;
}

/**
 * What every route reads: the pool (once started), the served models, the off-the-shelf
 * model servers, device samples, rates and recent errors. The server listens before the
 * pool has started, so `/healthz` answers while models load and `/readyz` says they are not
 * ready yet.
 */
export class ServeCore {
  phase: ServePhase = 'starting';
  pool?: Pool;
  readonly models = new Map<string, ServedModel>();
  /** `kind: http` models, served by the replica proxy. */
  readonly httpModelNames: readonly string[];
  httpModels?: HttpModels;
  /** Remembered `memory.need` per model, for the pool's workers and the replicas alike. */
  readonly measuredNeeds = MeasuredNeedStore.fromEnv();
  /** Items answered per second, per model and per worker. */
  readonly modelRates: RateCounter;
  readonly workerRates: RateCounter;
  readonly errors = new RecentErrors();
  readonly monitor: DeviceMonitor;
  readonly startedAt = Date.now();
  observer: CoreObserver = {};
  private readonly replicaServed = new Map<string, number>();

  constructor(
    readonly options: ResolvedServeOptions,
    readonly providers: DeviceProvider[],
    readonly limits: LimitStore,
  ) {
    const intervalSeconds = options.sampleEveryMs / 1000;
    this.modelRates = new RateCounter(300, intervalSeconds);
    this.workerRates = new RateCounter(300, intervalSeconds);
    const all = Object.values(options.config.models);
    for (const m of all) if (m.kind === 'process') this.models.set(m.name, new ServedModel(m, options.maxQueued, this.modelRates));
    this.httpModelNames = all.filter((m) => m.kind === 'http').map((m) => m.name);
    this.monitor = new DeviceMonitor(providers, () => this.workerPids());
  }

  get logDir(): string {
    return path.join(this.options.stateDir, 'logs');
  }

  /** Stops a start under way (a server shut down while its models load). */
  private readonly starting = new AbortController();

  /** Starts every worker (and replica); rejects with the first one that cannot start, or GPUPOOL_E_INTERRUPTED after {@link abortStart}. */
  async start(): Promise<void> {
    const { options } = this;
    const pool = await Pool.start({
      startSignal: this.starting.signal,
      config: options.config,
      models: [...this.models.keys()],
      devices: options.devices,
      logDir: this.logDir,
      echo: options.echo,
      sinkFor: ownerSink,
      providers: this.providers,
      learnedLimit: (model, key) => this.limits.get(model, key),
      onLimitChange: (model, key, limit) => this.limits.note(model, key, limit),
      onEvent: (e) => this.onPoolEvent(e),
      onBatch: (model, target, size, ms, outcome) => this.onBatch(model, target, size, ms, outcome),
      sampleEveryMs: options.sampleEveryMs,
      measuredNeeds: this.measuredNeeds,
      onStray: options.onStray,
      // Replicas start after the pool; its audit reads their assignments at every check.
      moreAssignments: () => this.httpModels?.assignments() ?? [],
    });
    this.pool = pool;
    for (const [name, served] of this.models) served.attach(pool.scheduler(name), pool.workers.filter((w) => w.model === name));
    await this.httpModels?.start();
    if (this.phase === 'starting') this.phase = 'ready';
    await this.monitor.sample();
  }

  /** A server closed while its workers start: they are killed, not waited for (a model load can take minutes). */
  abortStart(): void {
    this.starting.abort();
  }

  /** Drain: workers finish what they hold, then exit. */
  async close(): Promise<void> {
    this.phase = 'closing';
    await Promise.all([this.pool?.close(), this.httpModels?.close()]);
  }

  /** Closes the running interval of every rate (call once per sampling period). */
  tick(): void {
    // Replicas count their own answers; their rates come from the change since the last tick.
    for (const r of this.httpModels?.replicas() ?? []) {
      const served = r.served;
      const delta = served - (this.replicaServed.get(r.id) ?? 0);
      this.replicaServed.set(r.id, served);
      if (delta > 0) {
        this.workerRates.add(r.id, delta);
        this.modelRates.add(r.model, delta);
      }
    }
    this.modelRates.tick();
    this.workerRates.tick();
  }

  /** Every model has a worker (or replica) that takes work now. */
  get ready(): boolean {
    if (this.phase !== 'ready') return false;
    for (const m of this.models.values()) if (m.readyWorkers === 0) return false;
    for (const name of this.httpModelNames) if ((this.httpModels?.readyCount(name) ?? 0) === 0) return false;
    return true;
  }

  private workerPids() {
    const pids = new Map<number, { worker: string; model: string; deviceKeys: string[] }>();
    for (const w of this.pool?.workers ?? []) {
      const pid = w.supervisor.pid;
      if (pid !== undefined) pids.set(pid, { worker: w.id, model: w.model, deviceKeys: w.devices.map((d) => d.key) });
    }
    for (const r of this.httpModels?.replicas() ?? []) if (r.pid !== undefined) pids.set(r.pid, { worker: r.id, model: r.model, deviceKeys: [r.device] });
    return pids;
  }

  private onBatch(model: string, target: DispatchTarget, size: number, ms: number, outcome: 'ok' | FailureKind | 'lost'): void {
    if (outcome === 'ok') {
      this.modelRates.add(model, size);
      this.workerRates.add(target.id, size);
    }
    this.observer.batch?.(model, target.id, size, ms, outcome);
  }

  private onPoolEvent(e: PoolEvent): void {
    switch (e.type) {
      case 'worker-crashed':
        this.errors.add(e.worker, 'GPUPOOL_E_WORKER_CRASHED', `${exitSummary(e.message, e.logFile)} (${e.inflightItems - (e.failedItems ?? 0)} items back to the queue${e.failedItems ? `, ${e.failedItems} failed for good` : ''})`);
        break;
      case 'worker-gave-up':
        this.errors.add(e.worker, 'GPUPOOL_E_CRASH_LOOP', e.message);
        break;
      case 'placement-mismatch':
        this.errors.add(e.worker, 'placement-mismatch', e.message);
        break;
      case 'release-unanswered':
        this.errors.add(e.worker, 'release-unanswered', e.message);
        break;
      case 'model-down':
        this.errors.add(e.model, 'GPUPOOL_E_CRASH_LOOP', e.message);
        this.observer.modelDown?.(e.model, new GpupoolError('GPUPOOL_E_CRASH_LOOP', e.message));
        break;
      case 'placement-skipped':
        this.errors.add(e.model, 'placement-skipped', e.message);
        break;
      case 'stray':
        this.errors.add(e.stray.worker, `stray (${e.action})`, e.message);
        break;
      default:
        break;
    }
    this.options.onEvent?.(e);
  }
}
