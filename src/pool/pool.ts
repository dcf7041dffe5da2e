import path from 'node:path';
import { StrayAudit, type WorkerAssignment } from '../audit/index.js';
import { pickModel, type ModelConfig } from '../config/index.js';
import type { Device, DeviceProvider, DeviceSample } from '../devices/device.js';
import { devicesChoiceSource, listDevices, openDeviceProviders, selectDevicesFrom, type WorkerPlacement } from '../devices/index.js';
import { GpupoolError } from '../errors/index.js';
import { AdaptiveBatchLimit, ModelScheduler, type DispatchTarget } from '../scheduler/index.js';
import { AnswerPolling, answerPollMicros, RELEASE_TIMEOUT_MS, resolveCommand } from '../worker/index.js';
import type { PoolEvent, PoolOptions } from './pool-options.js';
import { PoolWorker } from './pool-worker.js';
import { modelFingerprint } from './measured-need-store.js';
import { NeedMeasurer, needMeasuredEvent } from './need-measurer.js';
import { placeModel, readFreeMemory } from './place-model.js';
import { workerEnv } from './worker-env.js';
import { planWorkerCpus, unpinnedEvent, workerIdOf, type WorkerCpuPlan } from './worker-cpus.js';

export interface DeviceUsage {
  readonly device: Device;
  sample?: DeviceSample;
  peakUsed: number;
  /** Device memory held by this pool's own workers (their framework caches included). */
  oursUsed: number;
}

/**
 * The core every front end shares: for each model, its scheduler and its resident, pinned
 * workers; device sampling for the memory guard and the displays.
 */
export class Pool {
  readonly schedulers = new Map<string, ModelScheduler>();
  readonly workers: PoolWorker[] = [];
  readonly devices = new Map<string, DeviceUsage>();
  private providers: DeviceProvider[] = [];
  private sampler?: NodeJS.Timeout;
  private readonly fatalWaiters: ((err: GpupoolError) => void)[] = [];
  /** Set by `destroy`: the workers that end now were stopped on purpose, not crashed. */
  private destroying = false;
  fatal?: GpupoolError;
  /**
   * The stray audit, where the host has an accelerator: `audit.strays` (each with message,
   * remedy, PIDs, memory, `since`) and `audit.tenants` hold the latest check; the `stray` and
   * `stray-cleared` events tell the changes.
   */
  audit?: StrayAudit;
  /** Measures models without `memory.need` for the next start (with `measuredNeeds`, on accelerators). */
  private needs?: NeedMeasurer;
  /** Workers already said to leave a `release` unanswered: the user is told once each (their logs say each time). */
  private readonly releaseUnansweredTold = new Set<string>();
  /** One batch limit per (model, device key): the model's workers there share its memory, and learn one size. */
  private readonly limits = new Map<string, AdaptiveBatchLimit>();

  /**
   * One for all workers (they share this process's event loop), where `GPUPOOL_ANSWER_POLL_US`
   * asks for it; none by default, so a dispatch costs no clock read for it.
   */
  readonly answerPolling?: AnswerPolling;

  private constructor(private readonly options: PoolOptions) {
    const micros = answerPollMicros();
    if (micros > 0) this.answerPolling = new AnswerPolling(micros);
  }

  static async start(options: PoolOptions): Promise<Pool> {
    const pool = new Pool(options);
    try {
      await pool.startAll();
    } catch (err) {
      await pool.destroy();
      throw err;
    }
    return pool;
  }

  scheduler(model: string): ModelScheduler {
    const s = this.schedulers.get(model);
    if (!s) throw new GpupoolError('GPUPOOL_E_UNKNOWN_MODEL', `unknown model "${model}"; this pool runs: ${[...this.schedulers.keys()].join(', ')}`);
    return s;
  }

  /** Resolves with the error that made a model unusable (every worker gave up). */
  onFatal(): Promise<GpupoolError> {
    if (this.fatal) return Promise.resolve(this.fatal);
    return new Promise((resolve) => this.fatalWaiters.push(resolve));
  }

  /** Drain: workers finish what they hold, then exit. */
  async close(timeoutMs?: number): Promise<void> {
    clearInterval(this.sampler);
    await this.audit?.stop();
    await this.needs?.finish();
    await Promise.all(this.workers.map((w) => w.supervisor.stop(timeoutMs)));
    await this.closeProviders();
  }

  /** Now: every worker is killed. */
  async destroy(): Promise<void> {
    clearInterval(this.sampler);
    await this.audit?.stop();
    await this.needs?.stop();
    this.destroying = true;
    for (const w of this.workers) w.supervisor.kill();
    await Promise.all(this.workers.map((w) => w.supervisor.current?.whenExited()));
    await this.closeProviders();
  }

  /** Closes the providers this pool opened; given ones belong to the caller (serve shares them with its replicas). */
  private async closeProviders(): Promise<void> {
    const providers = this.options.providers ? [] : this.providers;
    this.providers = [];
    await Promise.all(providers.map((p) => p.close().catch(() => undefined)));
  }

  private emit(event: PoolEvent): void {
    this.options.onEvent?.(event);
  }

  private async startAll(): Promise<void> {
    const { config } = this.options;
    const names = this.options.models ?? Object.keys(config.models);
    const models = names.map((n) => pickModel(config, n));
    this.providers = this.options.providers ?? (await openDeviceProviders());
    const available = await listDevices(this.providers);
    // Every model is planned before any worker starts: a model that cannot start (no room,
    // no such device, no such command) refuses the whole pool with nothing left running.
    let free: Promise<Map<string, number>> | undefined;
    const placing = { baseDir: config.baseDir, measuredNeeds: this.options.measuredNeeds, free: () => (free ??= this.freeMemory()), emit: (e: PoolEvent) => this.emit(e) };
    const plans: { model: ModelConfig; program: string; placements: WorkerPlacement[] }[] = [];
    for (const model of models) {
      if (model.kind === 'http') {
        throw new GpupoolError(
          'GPUPOOL_E_CONFIG',
          `model "${model.name}" has \`kind: http\`: it is an off-the-shelf server that only \`gpupool serve\` runs (proxied at /v1/models/${model.name}/…), not a worker items can be sent to; batch jobs need a \`kind: process\` model.`,
        );
      }
      const program = resolveCommand(model.command, config.baseDir);
      const spec = this.options.devices ?? model.devices;
      const chosen = selectDevicesFrom(spec, available, devicesChoiceSource(this.options.devices, model.name, config.file));
      const placements = await placeModel(model, chosen, placing);
      plans.push({ model, program, placements });
    }
    const cpuPlan = planWorkerCpus(plans);
    for (const u of cpuPlan.unpinned) this.emit(unpinnedEvent(u.id, u.reason));
    const starts: Promise<void>[] = [];
    for (const { model, program, placements } of plans) {
      for (const d of placements.flatMap((p) => p.devices)) if (!this.devices.has(d.uuid)) this.devices.set(d.uuid, { device: d, peakUsed: 0, oursUsed: 0 });
      const scheduler = this.createScheduler(model);
      for (const placement of placements) {
        const worker = this.createWorker(model, scheduler, program, placement, cpuPlan);
        starts.push(worker.supervisor.start().then(() => {
          scheduler.addTarget(worker);
          this.emit({ type: 'worker-ready', worker: worker.id, pid: worker.supervisor.pid, restart: false });
        }));
      }
    }
    // Every first start must succeed: a failure there is a config or model error, not bad luck.
    const results = await untilAborted(Promise.allSettled(starts), this.options.startSignal);
    if (results === 'aborted') throw new GpupoolError('GPUPOOL_E_INTERRUPTED', 'interrupted while the workers started (models loading): nothing ran');
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    await this.sample();
    this.startMeasuring(models);
    if (this.providers.some((p) => p.vendor !== 'cpu')) {
      this.audit = new StrayAudit({
        providers: this.providers,
        assignments: () => this.assignments(),
        everyMs: this.options.auditEveryMs,
        onStray: this.options.onStray,
        onEvent: (e) => this.emit(e),
        onSample: this.options.onAuditSample,
      });
      this.audit.start();
    }
    const every = this.options.sampleEveryMs ?? 1000;
    this.sampler = setInterval(() => void this.sample(), every);
    this.sampler.unref();
  }

  /** Free memory per device now, for memory-aware placement; each model's workers take theirs from it. */
  private async freeMemory(): Promise<Map<string, number>> {
    return readFreeMemory(this.providers);
  }

  /** Models without `memory.need` on accelerators: measured once ready, after their first batches and at the drain. */
  private startMeasuring(models: readonly ModelConfig[]): void {
    const store = this.options.measuredNeeds;
    const unmeasured = models.filter((m) => m.memory.need === undefined && this.workers.some((w) => w.model === m.name && w.devices.some((d) => d.vendor !== 'cpu')));
    if (!store || unmeasured.length === 0) return;
    this.needs = new NeedMeasurer({
      providers: this.providers,
      store,
      models: new Map(unmeasured.map((m) => [m.name, modelFingerprint(m, this.options.config.baseDir)])),
      workers: () => this.workers.map((w) => ({ id: w.id, model: w.model, pid: w.supervisor.pid, devices: w.devices })),
      onRecorded: (n) => this.emit(needMeasuredEvent(n, 'worker', store.file)),
    });
    void this.needs.measure();
  }

  /** What each worker was given, for the audit; PIDs as they are now (restarts change them). */
  private assignments(): WorkerAssignment[] {
    const own = this.workers.map((w): WorkerAssignment => {
      const memoryLimit = this.options.config.models[w.model].memory.limit;
      const pid = w.supervisor.pid;
      return { worker: w.id, model: w.model, deviceKeys: w.devices.map((d) => d.key), ...(pid === undefined ? {} : { pid }), ...(memoryLimit === undefined ? {} : { memoryLimit }) };
    });
    return [...own, ...(this.options.moreAssignments?.() ?? [])];
  }

  private createScheduler(model: ModelConfig): ModelScheduler {
    const scheduler = new ModelScheduler({
      model: model.name,
      batch: model.batch,
      maxAttempts: model.max_attempts,
      sink: this.options.sinkFor(model.name),
      roomToGrow: (t) => this.hasRoom(t as PoolWorker, model.memory.reserve),
      onBatch: (t, size, ms, outcome) => {
        if (outcome === 'ok' || outcome === 'oom') this.limitChanged(model.name, t);
        if (outcome === 'ok') this.needs?.afterBatch(model.name);
        else if (outcome === 'oom') this.needs?.afterOutOfMemory(model.name);
        this.options.onBatch?.(model.name, t, size, ms, outcome);
      },
      onLimitChangedBeside: (t) => this.limitChanged(model.name, t),
    });
    this.schedulers.set(model.name, scheduler);
    return scheduler;
  }

  /** Tells who remembers limits what (model, device) keeps: the limit its workers share. */
  private limitChanged(model: string, target: DispatchTarget): void {
    this.options.onLimitChange?.(model, target.deviceKey, target.limit.value);
  }

  private createWorker(model: ModelConfig, scheduler: ModelScheduler, program: string, placement: WorkerPlacement, cpuPlan: WorkerCpuPlan): PoolWorker {
    const id = workerIdOf(model.name, placement);
    const { key } = placement;
    const devices = [...placement.devices];
    const logFile = path.join(this.options.logDir, `${id.replace(/[/:+]/g, '_')}.log`);
    const limitKey = `${model.name}\u0000${key}`;
    let limit = this.limits.get(limitKey);
    if (limit === undefined) this.limits.set(limitKey, (limit = new AdaptiveBatchLimit({ max: model.batch.max, initial: this.options.learnedLimit?.(model.name, key) })));
    const worker = new PoolWorker(
      id,
      key,
      devices,
      limit,
      model.batch.in_flight,
      scheduler,
      {
        id,
        model: model.name,
        command: [...cpuPlan.argvPrefix(id), program, ...model.command.slice(1)],
        cwd: this.options.config.baseDir,
        env: workerEnv(model, devices, id, cpuPlan.cpus.get(id)),
        logFile,
        echo: this.options.echo,
        startTimeoutMs: model.start_timeout,
        batchDeadlineMs: model.batch.deadline,
        answerPolling: this.answerPolling,
      },
      { backoffMs: model.restart.backoff, maxBackoffMs: model.restart.max_backoff, maxStartFailures: model.restart.max_start_failures },
      {
        hello: (w, msg) => this.verifyPlacement(w, msg.devices ?? []),
        releaseUnanswered: (w) => this.onReleaseUnanswered(w),
        lost: (w, exit, items) => this.emit({ type: 'worker-crashed', worker: w.id, message: exit.message, inflightItems: items.back + items.failed, failedItems: items.failed, stopped: this.destroying, logFile }),
        gaveUp: (w, reason) => this.onGaveUp(w, scheduler, reason),
      },
    );
    this.workers.push(worker);
    return worker;
  }

  /**
   * A worker promised `released` (`ready.release`) and did not answer within the timeout: the
   * workers sharing its device (or an item waiting for the device whole) waited that long, and
   * wait again at its next `release`. Silent, a run could take minutes instead of seconds.
   */
  private onReleaseUnanswered(worker: PoolWorker): void {
    if (this.releaseUnansweredTold.has(worker.id)) return;
    this.releaseUnansweredTold.add(worker.id);
    this.emit({
      type: 'release-unanswered',
      worker: worker.id,
      message:
        `worker ${worker.id} said "release": true in ready but left a "release" unanswered for ${RELEASE_TIMEOUT_MS / 1000} s: ` +
        `the other workers of "${worker.model}" on ${worker.deviceKey} waited that long, and wait up to ${RELEASE_TIMEOUT_MS / 1000} s at each release it is sent. ` +
        'A worker answers release between batches, so a longer batch delays it; one that does not answer it must leave "release" out of ready (docs/protocol.md). ' +
        'Said once per worker; its log notes each',
    });
  }

  /** Trust, then verify: the worker's own view of its devices must match what it was given. */
  private verifyPlacement(worker: PoolWorker, seen: readonly { uuid?: string; name: string }[]): void {
    const expected = worker.devices.filter((d) => d.vendor !== 'cpu');
    if (expected.length === 0) {
      if (seen.length > 0) this.emit({ type: 'placement-mismatch', worker: worker.id, message: `worker ${worker.id} was given the CPU but sees ${seen.map((s) => s.name).join(', ')}` });
      return;
    }
    const seenUuids = seen.map((s) => s.uuid).filter((u): u is string => !!u);
    if (seenUuids.length === 0) return; // the SDK could not tell (no framework yet): the audit checks later
    const want = new Set(expected.map((d) => d.uuid));
    const wrong = seenUuids.filter((u) => !want.has(u));
    if (wrong.length > 0 || seenUuids.length !== want.size) {
      this.emit({
        type: 'placement-mismatch',
        worker: worker.id,
        message: `worker ${worker.id} was given ${expected.map((d) => `${d.key} (${d.uuid})`).join(', ')} but sees ${seenUuids.join(', ')}`,
      });
    }
  }

  private onGaveUp(worker: PoolWorker, scheduler: ModelScheduler, reason: string): void {
    this.emit({ type: 'worker-gave-up', worker: worker.id, message: reason });
    scheduler.removeTarget(worker);
    const alive = this.workers.some((w) => w.model === worker.model && w.supervisor.state !== 'given-up');
    if (alive) return;
    const err = new GpupoolError('GPUPOOL_E_CRASH_LOOP', `every worker of model "${worker.model}" is in a crash loop; last: ${reason}`);
    this.fatal = err;
    this.emit({ type: 'model-down', model: worker.model, message: err.message });
    for (const w of this.fatalWaiters.splice(0)) w(err);
  }

  /**
   * Free memory above the reserve, counting what our own workers hold as theirs to reuse:
   * a PyTorch cache full of our tensors is not another tenant, and holding back for it would
   * stall the device (seen on the GPU host).
   */
  private hasRoom(worker: PoolWorker, reserve: number): boolean {
    for (const d of worker.devices) {
      const usage = this.devices.get(d.uuid);
      const s = usage?.sample;
      if (s && d.vendor !== 'cpu' && s.memoryFree + (usage?.oursUsed ?? 0) < reserve) return false;
    }
    return true;
  }

  /** Per-process memory is only needed by the memory guard; without a reserve it is not read (nvidia-smi costs a process spawn). */
  private get guarding(): boolean {
    return Object.values(this.options.config.models).some((m) => m.memory.reserve > 0);
  }

  private async memoryHeldByOurWorkers(): Promise<Map<string, number>> {
    const ourPids = new Set(this.workers.map((w) => w.supervisor.pid));
    const processes = (await Promise.all(this.providers.map((p) => (p.vendor === 'cpu' ? [] : p.processes().catch(() => []))))).flat();
    const ours = new Map<string, number>();
    for (const p of processes) if (ourPids.has(p.pid)) ours.set(p.deviceUuid, (ours.get(p.deviceUuid) ?? 0) + (p.usedMemory ?? 0));
    return ours;
  }

  /** Samples device memory; holds dispatch back on a device whose free memory fell under the reserve. */
  private async sample(): Promise<void> {
    const samples = (await Promise.all(this.providers.map((p) => p.sample().catch(() => [] as DeviceSample[])))).flat();
    const ours = this.guarding ? await this.memoryHeldByOurWorkers() : new Map<string, number>();
    for (const s of samples) {
      const usage = this.devices.get(s.uuid);
      if (!usage) continue;
      usage.sample = s;
      usage.oursUsed = ours.get(s.uuid) ?? 0;
      usage.peakUsed = Math.max(usage.peakUsed, s.memoryUsed);
    }
    let released = false;
    for (const w of this.workers) {
      const model = this.options.config.models[w.model];
      const held = model.memory.reserve > 0 && !this.hasRoom(w, model.memory.reserve);
      if (w.heldBack && !held) released = true;
      w.heldBack = held;
    }
    if (released) for (const s of this.schedulers.values()) s.pump();
  }
}

/** `work`'s result, or 'aborted' as soon as `signal` is (at once if it already is). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T | 'aborted'> {
  if (signal === undefined) return work;
  if (signal.aborted) return Promise.resolve('aborted');
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve('aborted');
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
