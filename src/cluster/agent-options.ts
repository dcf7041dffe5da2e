import type { OnStray } from '../audit/index.js';
import type { GpupoolConfig } from '../config/index.js';
import type { DeviceProvider } from '../devices/device.js';
import type { PoolEvent } from '../pool/index.js';

export interface AgentOptions {
  readonly config: GpupoolConfig;
  /** `--redis`: `redis://[:password@]host:port[/db]` or `rediss://` for TLS. */
  readonly redisUrl: string;
  /** `--prefix`: the namespace of the queues in Redis. @defaultValue gpupool */
  readonly prefix?: string;
  /** `-m`: models to run. @defaultValue every `kind: process` model of the config */
  readonly models?: readonly string[];
  /** `--devices`: overrides the models' `devices:`. */
  readonly devices?: string;
  /** `--name`: how status shows this agent. @defaultValue `<hostname>-<pid>` */
  readonly name?: string;
  /** `--prefetch`: chunks held per job. @defaultValue max(2, ⌈2 × worker capacity / chunk size⌉) */
  readonly prefetch?: number;
  /** `--log-dir`: per-worker logs. @defaultValue `<tmpdir>/gpupool-agent-<name>` */
  readonly logDir?: string;
  /** How often the job list is read: a new job is taken up within this. @defaultValue 1000 */
  readonly pollMs?: number;
  /** How often the heartbeat is written. @defaultValue 2000 */
  readonly heartbeatMs?: number;
  /** `-v`: echo worker output here. */
  readonly echo?: NodeJS.WritableStream;
  readonly providers?: DeviceProvider[];
  /** `--on-stray`: what the audit does with a stray worker. @defaultValue warn */
  readonly onStray?: OnStray;
  readonly onEvent?: (e: PoolEvent) => void;
  /** One line per thing worth knowing (a job taken up, Redis lost and back). */
  readonly log?: (line: string) => void;
  /**
   * Ctrl-C while the models load: the start stops with GPUPOOL_E_INTERRUPTED, its workers killed
   * and its name given back, instead of the process dying and leaving them loading.
   */
  readonly startSignal?: AbortSignal;
}
