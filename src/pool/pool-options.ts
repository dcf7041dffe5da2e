import type { GpupoolConfig } from '../config/index.js';
import type { DeviceProvider } from '../devices/device.js';
import type { ItemSink } from '../scheduler/index.js';

/** Things worth telling the user about, as they happen. */
export type PoolEvent =
  | { type: 'worker-ready'; worker: string; pid?: number; restart: boolean }
  | { type: 'worker-crashed'; worker: string; message: string; inflightItems: number }
  | { type: 'worker-gave-up'; worker: string; message: string }
  | { type: 'placement-mismatch'; worker: string; message: string }
  | { type: 'model-down'; model: string; message: string };

export interface PoolOptions {
  readonly config: GpupoolConfig;
  /** Models to start; default: all in the config. */
  readonly models?: readonly string[];
  /** `--devices`: overrides every model's `devices:`. */
  readonly devices?: string;
  /** Per-worker log files go here. */
  readonly logDir: string;
  /** `--verbose`: echo worker output here, prefixed. */
  readonly echo?: NodeJS.WritableStream;
  readonly sinkFor: (model: string) => ItemSink;
  /** Device providers; default: discovered (NVML, smi tools, CPU). */
  readonly providers?: DeviceProvider[];
  /** A limit learned by an earlier run, to start from. */
  readonly learnedLimit?: (model: string, deviceKey: string) => number | undefined;
  readonly onLimitChange?: (model: string, deviceKey: string, limit: number) => void;
  readonly onEvent?: (event: PoolEvent) => void;
  /** Device memory sampling period. @defaultValue 1000 */
  readonly sampleEveryMs?: number;
}
