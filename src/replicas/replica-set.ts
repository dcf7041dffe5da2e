import path from 'node:path';
import type { WorkerAssignment } from '../audit/index.js';
import type { DeviceProvider } from '../devices/device.js';
import { devicesChoiceSource, listDevices, openDeviceProviders, selectDevicesFrom } from '../devices/index.js';
import { GpupoolError } from '../errors/index.js';
import { modelFingerprint, NeedMeasurer, needMeasuredEvent, placeModel, planWorkerCpus, readFreeMemory, unpinnedEvent, workerIdOf, type PoolEvent } from '../pool/index.js';
import { resolveCommand } from '../worker/index.js';
import { checkReplicaCommand, replicaArgv, replicaEnv } from './replica-launch.js';
import type { ReplicaSetOptions } from './replica-set-options.js';
import { Replica, type ReplicaInfo } from './replica.js';

const DEFAULT_HOST = '127.0.0.1';
const DEFAULT_STOP_GRACE_MS = 10_000;
/** A server has no batches to measure after: what it holds is read this often while it runs (and at close). */
const MEASURE_EVERY_MS = 15_000;

/**
 * The replicas of one `kind: http` model: its server started once per device group, pinned
 * exactly like a protocol worker, and a balancer that hands each request to the ready
 * replica with the fewest outstanding requests (ties in turn, so idle replicas share).
 */
export class ReplicaSet {
  readonly replicas: Replica[] = [];
  /** Set once every replica is in a crash loop: the model is down. */
  down?: GpupoolError;
  private rotation = 0;
  private providers: readonly DeviceProvider[] = [];
  private needs?: NeedMeasurer;
  private measureTimer?: NodeJS.Timeout;
  private readonly killOnExit = (): void => {
    for (const r of this.replicas) r.killNow();
  };

  private constructor(private readonly options: ReplicaSetOptions) {}

  /**
   * Starts every replica and resolves once each answers its health path. Any replica that
   * fails its first start fails the whole set (a config or model error, not bad luck), with
   * every replica killed.
   *
   * @throws GpupoolError GPUPOOL_E_CONFIG (no `{port}`, not `kind: http`),
   *   GPUPOOL_E_COMMAND_NOT_FOUND, GPUPOOL_E_UNKNOWN_DEVICE, GPUPOOL_E_NO_DEVICE_FITS (memory.need),
   *   GPUPOOL_E_REPLICA_START.
   */
  static async start(options: ReplicaSetOptions, onCreated?: (set: ReplicaSet) => void): Promise<ReplicaSet> {
    const set = new ReplicaSet(options);
    onCreated?.(set); // before the replicas start: the stray audit judges them while they load
    process.on('exit', set.killOnExit);
    try {
      await set.startAll();
    } catch (err) {
      await set.destroy();
      throw err;
    }
    return set;
  }

  get model(): string {
    return this.options.model.name;
  }

  /** Replicas taking requests now. */
  get readyCount(): number {
    return this.replicas.filter((r) => r.acceptsRequests).length;
  }

  /**
   * Picks the replica for one request and counts it as outstanding there; `release` it when
   * the request ends. Undefined when none is ready (but `notThis`, the one that just failed).
   */
  acquire(notThis?: Replica): Replica | undefined {
    const n = this.replicas.length;
    let best: Replica | undefined;
    let bestAt = 0;
    for (let k = 0; k < n; k++) {
      const at = (this.rotation + k) % n;
      const r = this.replicas[at];
      if (r.acceptsRequests && r !== notThis && (!best || r.outstanding < best.outstanding)) {
        best = r;
        bestAt = at;
      }
    }
    if (!best) return undefined;
    this.rotation = (bestAt + 1) % n;
    best.outstanding++;
    return best;
  }

  release(replica: Replica, answered: boolean): void {
    replica.outstanding--;
    if (answered) replica.served++;
  }

  /** A proxied request's deadline (`http.request_timeout`). */
  get requestTimeoutMs(): number {
    return this.options.model.http.request_timeout;
  }

  /** Seconds a client should wait before retrying when no replica is ready. */
  retryAfterSeconds(): number {
    const { backoff } = this.options.model.restart;
    return Math.max(1, Math.ceil(backoff / 1000));
  }

  describe(): ReplicaInfo[] {
    return this.replicas.map((r) => r.describe());
  }

  /** The replicas as the stray audit judges them: each server (and its children) belongs on its own devices only. */
  assignments(): WorkerAssignment[] {
    const { memory } = this.options.model;
    return this.replicas.map((r) => {
      const pid = r.pid;
      return {
        worker: r.id,
        model: this.model,
        deviceKeys: r.options.devices.map((d) => d.key),
        ...(pid === undefined ? {} : { pid }),
        ...(memory.limit === undefined ? {} : { memoryLimit: memory.limit }),
      };
    });
  }

  /** SIGTERM every replica, SIGKILL what is left after the grace period. */
  async close(graceMs = this.options.stopGraceMs ?? DEFAULT_STOP_GRACE_MS): Promise<void> {
    await this.stopMeasuring(true);
    await Promise.all(this.replicas.map((r) => r.stop(graceMs)));
    await this.releaseProviders();
  }

  /** SIGKILL every replica now. */
  async destroy(): Promise<void> {
    await this.stopMeasuring(false);
    await Promise.all(this.replicas.map((r) => r.destroy()));
    await this.releaseProviders();
  }

  private async releaseProviders(): Promise<void> {
    process.off('exit', this.killOnExit);
    // Providers this set opened itself (none were given) are closed with it.
    if (!this.options.providers) await Promise.all(this.providers.map((p) => p.close().catch(() => undefined)));
    this.providers = [];
  }

  private emit(event: PoolEvent): void {
    this.options.onEvent?.(event);
  }

  private async startAll(): Promise<void> {
    const { model, baseDir } = this.options;
    const env = this.options.env ?? process.env;
    checkReplicaCommand(model);
    const program = resolveCommand(model.command, baseDir, env);
    this.providers = this.options.providers ?? (await openDeviceProviders({ env }));
    const available = await listDevices(this.providers);
    const selected = selectDevicesFrom(this.options.devices ?? model.devices, available, devicesChoiceSource(this.options.devices, model.name, undefined), env);
    // Placed as the pool places workers: by `memory.need` (configured or remembered) where there is one.
    const placements = await placeModel(model, selected, {
      baseDir,
      measuredNeeds: this.options.measuredNeeds,
      free: this.options.freeMemory ?? (() => readFreeMemory(this.providers)),
      emit: (e) => this.emit(e),
    });
    // `cpus: auto`: planned among this model's replicas (another model's are planned apart).
    const cpuPlan = planWorkerCpus([{ model, placements }], undefined, env);
    for (const u of cpuPlan.unpinned) this.emit(unpinnedEvent(u.id, u.reason));
    for (const [index, placement] of placements.entries()) {
      const id = workerIdOf(model.name, placement);
      const devices = placement.devices;
      const onCpus = cpuPlan.cpus.get(id);
      const prefix = cpuPlan.argvPrefix(id);
      this.replicas.push(
        new Replica(
          {
            id,
            model: model.name,
            index,
            deviceKey: placement.key,
            devices,
            http: model.http,
            restart: { backoffMs: model.restart.backoff, maxBackoffMs: model.restart.max_backoff, maxStartFailures: model.restart.max_start_failures },
            startTimeoutMs: model.start_timeout,
            host: this.options.host ?? DEFAULT_HOST,
            cwd: baseDir,
            logFile: path.join(this.options.logDir, `${id.replace(/[/:+]/g, '_')}.log`),
            echo: this.options.echo,
            launch: (port) => ({ command: [...prefix, ...replicaArgv(program, model.command, port)], env: replicaEnv(model, devices, id, port, env, onCpus) }),
          },
          {
            ready: (r, restart) => {
              this.emit({ type: 'worker-ready', worker: r.id, pid: r.pid, restart });
              void this.needs?.measure();
            },
            lost: (r, message) => this.emit({ type: 'worker-crashed', worker: r.id, message, inflightItems: r.outstanding, logFile: r.options.logFile }),
            gaveUp: (r, reason) => this.onGaveUp(r, reason),
          },
        ),
      );
    }
    this.startMeasuring();
    const results = await Promise.allSettled(this.replicas.map((r) => r.start()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }


  /**
   * A model without `memory.need` on accelerators: what its servers hold is measured once
   * each is ready, every {@link MEASURE_EVERY_MS} while they run and at close, and the peak
   * remembered for placing the next start, as the pool does for its workers.
   */
  private startMeasuring(): void {
    const { model, baseDir, measuredNeeds: store } = this.options;
    if (!store || model.memory.need !== undefined) return;
    if (!this.replicas.some((r) => r.options.devices.some((d) => d.vendor !== 'cpu'))) return;
    this.needs = new NeedMeasurer({
      providers: this.providers,
      store,
      models: new Map([[model.name, modelFingerprint(model, baseDir)]]),
      workers: () => this.replicas.map((r) => ({ id: r.id, model: model.name, pid: r.pid, devices: r.options.devices })),
      onRecorded: (n) => this.emit(needMeasuredEvent(n, 'replica', store.file)),
    });
    this.measureTimer = setInterval(() => void this.needs?.measure(), MEASURE_EVERY_MS);
    this.measureTimer.unref();
  }

  /** `last`: one more measurement while the servers still hold their memory. */
  private async stopMeasuring(last: boolean): Promise<void> {
    clearInterval(this.measureTimer);
    const needs = this.needs;
    this.needs = undefined;
    await (last ? needs?.finish() : needs?.stop());
  }

  private onGaveUp(replica: Replica, reason: string): void {
    this.emit({ type: 'worker-gave-up', worker: replica.id, message: reason });
    if (this.replicas.some((r) => r.state !== 'given-up')) return;
    this.down = new GpupoolError('GPUPOOL_E_CRASH_LOOP', `every replica of model "${this.model}" is in a crash loop; last: ${reason}`);
    this.emit({ type: 'model-down', model: this.model, message: this.down.message });
  }
}
