import type { ModelConfig } from '../config/index.js';
import type { DeviceProvider } from '../devices/device.js';
import type { MeasuredNeedStore, PoolEvent } from '../pool/index.js';

export interface ReplicaSetOptions {
  /** A `kind: http` model (its `command` holds `{port}`). */
  readonly model: ModelConfig;
  /** The servers' cwd; relative `command` paths resolve against it (the config's folder). */
  readonly baseDir: string;
  /** Per-replica log files go here, named like workers' (`llm_cuda_1_0.log`). */
  readonly logDir: string;
  /** `--devices`: overrides the model's `devices:`. */
  readonly devices?: string;
  /** Device providers to choose devices from; default: discovered, then closed again. */
  readonly providers?: readonly DeviceProvider[];
  /**
   * Where the servers listen and are reached; they are told only the port, so this must
   * be an address they bind (most bind 0.0.0.0 or 127.0.0.1 by default).
   * @defaultValue 127.0.0.1
   */
  readonly host?: string;
  /** SIGTERM → SIGKILL grace on `close()`. @defaultValue 10000 */
  readonly stopGraceMs?: number;
  /** The environment replicas inherit, before pinning; also read for visibility restrictions. @defaultValue process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** `--verbose`: echo replica output here, each line prefixed with its id. */
  readonly echo?: NodeJS.WritableStream;
  /**
   * Where a model without `memory.need` has its servers' peak device memory remembered, and
   * read back to place the next start by (as the pool does for workers). Default: none.
   */
  readonly measuredNeeds?: MeasuredNeedStore;
  /**
   * Free bytes per device UUID, shared by the sets started together: each model's replicas
   * take their `memory.need` from it, so the next model sees what is left (as the pool's
   * models do). Default: read from `providers` for this set alone.
   */
  readonly freeMemory?: () => Promise<Map<string, number>>;
  /** The same events a Pool emits, with replica ids in `worker`. */
  readonly onEvent?: (event: PoolEvent) => void;
}
