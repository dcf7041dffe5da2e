import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { FailureKind } from '../protocol/index.js';
import type { InferOutcome } from './infer-request.js';
import type { JobManager } from './job-manager.js';
import { modelViews, workerViews } from './live-views.js';
import type { ServeCore } from './serve-core.js';

const WORKER_STATES = ['starting', 'ready', 'busy', 'draining', 'stopped', 'crashed', 'restarting', 'given-up', 'unhealthy'] as const;

/**
 * `GET /metrics` (Prometheus text). Live state (devices, workers, queues, jobs) is read at
 * scrape time; what happens between scrapes (requests, batches) is counted as it happens,
 * through children cached per label set so the request path does no label hashing.
 */
export class ServeMetrics {
  readonly registry = new Registry();
  private readonly requestSeconds: Histogram<'model' | 'outcome'>;
  private readonly rejected: Counter<'model' | 'code'>;
  private readonly batchSize: Histogram<'model'>;
  private readonly batchSeconds: Histogram<'model' | 'outcome'>;
  private readonly ooms: Counter<'model' | 'worker'>;
  private readonly requestChildren = new Map<string, { observe(v: number): void }>();
  private readonly batchChildren = new Map<string, { size: { observe(v: number): void }; seconds: { observe(v: number): void } }>();
  private readonly restartsSeen = new Map<string, number>();

  constructor(core: ServeCore, jobs: JobManager) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'gpupool_process_' });
    this.requestSeconds = new Histogram({
      name: 'gpupool_request_duration_seconds',
      help: 'Infer requests, from arrival to reply, by outcome (ok, partial, failed, deadline).',
      labelNames: ['model', 'outcome'],
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.rejected = new Counter({ name: 'gpupool_requests_rejected_total', help: 'Infer requests refused before queueing (overload 429, not ready 503), by error code.', labelNames: ['model', 'code'], registers });
    this.batchSize = new Histogram({ name: 'gpupool_batch_size', help: 'Items per batch sent to a worker.', labelNames: ['model'], buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096], registers });
    this.batchSeconds = new Histogram({
      name: 'gpupool_batch_duration_seconds',
      help: 'From a batch being sent to its answer, by outcome (ok, oom, batch, fatal, lost).',
      labelNames: ['model', 'outcome'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.ooms = new Counter({ name: 'gpupool_worker_oom_total', help: 'Batches a worker answered with out-of-memory.', labelNames: ['model', 'worker'], registers });

    const gauge = (name: string, help: string, labelNames: string[], collect: (g: Gauge<string>) => void) =>
      new Gauge({ name, help, labelNames, registers, collect(this: Gauge<string>) { this.reset(); collect(this); } });
    gauge('gpupool_device_memory_total_bytes', 'Device memory (host memory for the CPU).', ['device', 'name'], (g) => {
      for (const d of core.monitor.latest) g.set({ device: d.key, name: d.name }, d.memory.total);
    });
    gauge('gpupool_device_memory_used_bytes', 'Device memory in use, by whom: workers (this server\'s) or others.', ['device', 'holder'], (g) => {
      for (const d of core.monitor.latest) {
        g.set({ device: d.key, holder: 'workers' }, d.memory.workers);
        g.set({ device: d.key, holder: 'others' }, d.memory.others);
      }
    });
    gauge('gpupool_device_utilization_ratio', 'Device utilisation 0..1 where the vendor reports it.', ['device'], (g) => {
      for (const d of core.monitor.latest) if (d.utilization !== null) g.set({ device: d.key }, d.utilization / 100);
    });
    gauge('gpupool_worker_state', '1 for the state each worker is in, 0 for the others.', ['worker', 'model', 'device', 'state'], (g) => {
      for (const w of workerViews(core)) for (const s of WORKER_STATES) g.set({ worker: w.id, model: w.model, device: w.device, state: s }, w.state === s ? 1 : 0);
    });
    gauge('gpupool_worker_batch_limit', 'Live batch limit of each worker (it halves on OOM and grows back).', ['worker', 'model', 'device'], (g) => {
      for (const w of workerViews(core)) if (w.limit !== null) g.set({ worker: w.id, model: w.model, device: w.device }, w.limit);
    });
    gauge('gpupool_worker_learned_batch_limit', 'Batch limit remembered for the worker\'s (model, device), where a restart starts.', ['worker', 'model', 'device'], (g) => {
      for (const w of workerViews(core)) if (w.learnedLimit !== null) g.set({ worker: w.id, model: w.model, device: w.device }, w.learnedLimit);
    });
    gauge('gpupool_model_queue_depth', 'Items waiting for a worker.', ['model'], (g) => {
      for (const m of modelViews(core)) g.set({ model: m.name }, m.queued);
    });
    gauge('gpupool_model_inflight_items', 'Items inside workers.', ['model'], (g) => {
      for (const m of modelViews(core)) g.set({ model: m.name }, m.inflight);
    });
    gauge('gpupool_model_ready', '1 when the model has a worker that takes work.', ['model'], (g) => {
      for (const m of modelViews(core)) g.set({ model: m.name }, m.ready ? 1 : 0);
    });
    gauge('gpupool_jobs', 'Jobs by state.', ['state'], (g) => {
      const counts: Record<string, number> = { queued: 0, running: 0, done: 0, cancelled: 0, failed: 0 };
      for (const j of jobs.list()) counts[j.state]++;
      for (const [state, n] of Object.entries(counts)) g.set({ state }, n);
    });
    const restarts = new Counter({
      name: 'gpupool_worker_restarts_total',
      help: 'Times each worker was restarted after it died.',
      labelNames: ['worker', 'model'],
      registers,
      collect: () => {
        for (const w of workerViews(core)) {
          const delta = w.restarts - (this.restartsSeen.get(w.id) ?? 0);
          restarts.inc({ worker: w.id, model: w.model }, delta);
          this.restartsSeen.set(w.id, w.restarts);
        }
      },
    });
  }

  request(model: string, outcome: InferOutcome, seconds: number): void {
    const key = `${model}\0${outcome}`;
    let child = this.requestChildren.get(key);
    if (!child) this.requestChildren.set(key, (child = this.requestSeconds.labels(model, outcome)));
    child.observe(seconds);
  }

  rejectedRequest(model: string, code: string): void {
    this.rejected.inc({ model, code });
  }

  batch(model: string, worker: string, size: number, ms: number, outcome: 'ok' | FailureKind | 'lost'): void {
    const key = `${model}\0${outcome}`;
    let child = this.batchChildren.get(key);
    if (!child) this.batchChildren.set(key, (child = { size: this.batchSize.labels(model), seconds: this.batchSeconds.labels(model, outcome) }));
    if (outcome === 'ok') child.size.observe(size);
    child.seconds.observe(ms / 1000);
    if (outcome === 'oom') this.ooms.inc({ model, worker });
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }
}
