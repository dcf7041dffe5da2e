import type { ServeCore } from './serve-core.js';

/** `GET /v1/models`: one entry per model of the config. */
export interface ModelView {
  readonly name: string;
  readonly kind: 'process' | 'http';
  readonly ready: boolean;
  readonly workers: number;
  readonly readyWorkers: number;
  /** Items waiting for a worker (online requests and jobs). */
  readonly queued: number;
  /** Items inside workers. */
  readonly inflight: number;
  /** Items of online requests not yet answered, and their bound. */
  readonly outstanding: number;
  readonly maxQueued: number;
  readonly itemsPerSecond: number;
}

/** `GET /v1/workers`: a worker process, or a replica of an off-the-shelf server. */
export interface WorkerView {
  readonly id: string;
  readonly model: string;
  readonly kind: 'process' | 'http';
  readonly device: string;
  readonly state: string;
  readonly pid: number | null;
  /** The live batch limit, its ceiling (`batch.max`), and what the server remembers from earlier batches. */
  readonly limit: number | null;
  readonly maxLimit: number | null;
  readonly learnedLimit: number | null;
  readonly itemsPerSecond: number;
  readonly restarts: number;
  readonly ooms: number;
  readonly inflightBatches: number;
}

/** States in which a worker slot has no live process. */
const GONE = new Set(['restarting', 'given-up', 'crashed', 'stopped']);

export function modelViews(core: ServeCore): ModelView[] {
  const views: ModelView[] = [];
  for (const m of core.models.values()) {
    views.push({
      name: m.name,
      kind: 'process',
      ready: core.phase === 'ready' && m.readyWorkers > 0,
      workers: m.workers.length,
      readyWorkers: m.readyWorkers,
      queued: m.scheduler?.queued ?? 0,
      inflight: m.scheduler?.inflight ?? 0,
      outstanding: m.outstanding,
      maxQueued: m.maxQueued,
      itemsPerSecond: round(core.modelRates.perSecond(m.name)),
    });
  }
  for (const name of core.httpModelNames) {
    const replicas = core.httpModels?.replicas().filter((r) => r.model === name) ?? [];
    const ready = core.httpModels?.readyCount(name) ?? 0;
    const outstanding = replicas.reduce((n, r) => n + r.outstanding, 0);
    views.push({ name, kind: 'http', ready: ready > 0, workers: replicas.length, readyWorkers: ready, queued: 0, inflight: outstanding, outstanding, maxQueued: 0, itemsPerSecond: round(core.modelRates.perSecond(name)) });
  }
  return views;
}

export function workerViews(core: ServeCore): WorkerView[] {
  const views: WorkerView[] = (core.pool?.workers ?? []).map((w) => ({
    id: w.id,
    model: w.model,
    kind: 'process',
    device: w.deviceKey,
    state: w.supervisor.state,
    pid: GONE.has(w.supervisor.state) ? null : (w.supervisor.pid ?? null),
    limit: w.limit.value,
    maxLimit: w.limit.max,
    learnedLimit: core.limits.get(w.model, w.deviceKey) ?? null,
    itemsPerSecond: round(core.workerRates.perSecond(w.id)),
    restarts: w.supervisor.restarts,
    ooms: w.ooms,
    inflightBatches: w.inflightCount,
  }));
  for (const r of core.httpModels?.replicas() ?? []) {
    views.push({ id: r.id, model: r.model, kind: 'http', device: r.device, state: r.state, pid: r.pid ?? null, limit: null, maxLimit: null, learnedLimit: null, itemsPerSecond: round(core.workerRates.perSecond(r.id)), restarts: r.restarts, ooms: 0, inflightBatches: r.outstanding });
  }
  return views;
}

/** `/readyz`: ready when every model has a worker that takes work. */
export function readiness(core: ServeCore): { ready: boolean; phase: string; models: Record<string, { ready: boolean; readyWorkers: number; workers: number }> } {
  const models: Record<string, { ready: boolean; readyWorkers: number; workers: number }> = {};
  for (const v of modelViews(core)) models[v.name] = { ready: v.ready, readyWorkers: v.readyWorkers, workers: v.workers };
  return { ready: core.ready, phase: core.phase, models };
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
