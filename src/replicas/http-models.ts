import type { FastifyInstance } from 'fastify';
import type { GpupoolConfig, ModelConfig } from '../config/index.js';
import type { DeviceProvider } from '../devices/device.js';
import type { WorkerAssignment } from '../audit/index.js';
import type { MeasuredNeedStore, PoolEvent } from '../pool/index.js';
import { registerReplicaProxy } from './replica-proxy.js';
import type { ReplicaSet } from './replica-set.js';
import { startReplicaSets } from './start-replica-sets.js';

/**
 * The seam between `gpupool serve` and off-the-shelf model servers (`kind: http`): the front
 * end calls a registrar, which mounts its proxy routes under `/v1/models/{model}/…` before
 * the server listens and starts the replicas in `start()`, after it listens, as the pool's
 * workers are. Defined here, beside the one registrar, so serve (which imports replicas) and
 * replicas share one definition.
 */
export interface HttpModelsContext {
  readonly config: GpupoolConfig;
  /** The `kind: http` models of the config. */
  readonly models: readonly ModelConfig[];
  readonly logDir: string;
  readonly devices?: string;
  readonly providers: readonly DeviceProvider[];
  readonly echo?: NodeJS.WritableStream;
  /** Remembered `memory.need` per model, shared with the pool's workers. */
  readonly measuredNeeds?: MeasuredNeedStore;
  readonly onEvent: (event: PoolEvent) => void;
}

/** One replica as `/v1/workers` and the dashboard list it. */
export interface HttpReplicaView {
  readonly id: string;
  readonly model: string;
  readonly device: string;
  readonly state: string;
  readonly pid?: number;
  readonly restarts: number;
  readonly port?: number;
  /** Requests the proxy has sent it and not yet had answered. */
  readonly outstanding: number;
  /** Requests answered since start (counts the replica's requests/s). */
  readonly served: number;
}

export interface HttpModels {
  /** Starts every replica; rejects (nothing left running) when one cannot start. */
  start(): Promise<void>;
  /** Replicas of `model` that take requests now. */
  readyCount(model: string): number;
  replicas(): HttpReplicaView[];
  /** Every replica as the stray audit judges it (the pool's audit covers them, given this). */
  assignments(): WorkerAssignment[];
  close(): Promise<void>;
}

export type HttpModelsRegistrar = (app: FastifyInstance, context: HttpModelsContext) => HttpModels;

export interface ReplicaModels extends HttpModels {
  /** The sets, once started: for callers that want more than the views. */
  readonly sets: ReadonlyMap<string, ReplicaSet>;
}

/**
 * `gpupool serve`'s registrar for `kind: http` models: mounts the proxy routes now (before
 * the server listens; requests get 503 until the replicas are up) and starts the replicas
 * in `start()`.
 */
export function registerHttpModels(app: FastifyInstance, context: HttpModelsContext): ReplicaModels {
  const sets = new Map<string, ReplicaSet>();
  const names = context.models.map((m) => m.name);
  registerReplicaProxy(app, sets, { models: names });
  return {
    sets,
    async start() {
      try {
        const started = await startReplicaSets(context.config, {
          models: names,
          logDir: context.logDir,
          devices: context.devices,
          providers: context.providers,
          echo: context.echo,
          measuredNeeds: context.measuredNeeds,
          onEvent: context.onEvent,
          // Known at once (requests get 503 until a replica is ready): the audit sees servers while they load.
          onCreated: (set) => sets.set(set.model, set),
        });
        for (const [name, set] of started) sets.set(name, set);
      } catch (err) {
        sets.clear(); // destroyed: nothing to route to or to audit
        throw err;
      }
    },
    readyCount: (model) => sets.get(model)?.readyCount ?? 0,
    replicas: () =>
      [...sets.values()].flatMap((s) =>
        s.describe().map((r) => ({
          id: r.id,
          model: r.model,
          device: r.deviceKey,
          state: r.state,
          ...(r.pid !== undefined ? { pid: r.pid } : {}),
          restarts: r.restarts,
          ...(r.port !== undefined ? { port: r.port } : {}),
          outstanding: r.outstanding,
          served: r.served,
        })),
      ),
    assignments: () => [...sets.values()].flatMap((s) => s.assignments()),
    async close() {
      await Promise.all([...sets.values()].map((s) => s.close()));
    },
  };
}
