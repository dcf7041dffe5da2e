/**
 * The one schema of gpupool's configuration: zod gives the TypeScript types and the
 * validator. Units are resolved here, once: durations become ms, sizes bytes.
 * docs/config.md documents every key with its default.
 */
import { z } from 'zod';
import { parseBytes, parseDuration } from './units.js';

// A union's own message when the value is of neither type (zod's is "Invalid input"): what is allowed.
const duration = (what: string) =>
  z.union([z.string(), z.number()], { error: `must be a duration like "5ms", "2s" or "10m" (${what})` }).transform((v, ctx) => {
    const ms = parseDuration(v);
    if (ms === undefined || ms < 0) {
      ctx.addIssue({ code: 'custom', message: `must be a duration like "5ms", "2s" or "10m" (${what}), got ${JSON.stringify(v)}` });
      return z.NEVER;
    }
    return ms;
  });

const bytes = z.union([z.string(), z.number()], { error: 'must be a size like "2GiB", "512MB" or a number of bytes' }).transform((v, ctx) => {
  const b = parseBytes(v);
  if (b === undefined || b < 0) {
    ctx.addIssue({ code: 'custom', message: `must be a size like "2GiB", "512MB" or a number of bytes, got ${JSON.stringify(v)}` });
    return z.NEVER;
  }
  return b;
});

const positiveInt = z.number().int().min(1);

/** `all`, `cpu`, `"6,7"`, `[6, 7]`, `["GPU-…"]`: normalised to a list of tokens. */
const deviceSpec = z
  .union([z.string().min(1), z.number().int().min(0), z.array(z.union([z.string().min(1), z.number().int().min(0)])).min(1)], {
    error: 'must be all, cpu, a device index, a list of them ("6,7" or [6, 7]), cuda:N, npu:N or a UUID',
  })
  .transform((v) => (Array.isArray(v) ? v : [v]).flatMap((t) => String(t).split(',')).map((t) => t.trim()).filter(Boolean));

export const batchSchema = z
  .object({
    /** Largest batch, in items. @defaultValue 32 */
    max: positiveInt.default(32),
    /** How long a partial batch waits for more items. @defaultValue 5ms */
    timeout: duration('batch.timeout').default(5),
    /** Largest total cost of a batch (items' `cost`); unbounded when unset. */
    max_cost: z.number().positive().optional(),
    /** A batch running longer kills and restarts its worker. @defaultValue 10m */
    deadline: duration('batch.deadline').default(600_000),
    /** Batches in flight per worker, so the device never waits for the next one. @defaultValue 2 */
    in_flight: positiveInt.default(2),
  })
  .strict();

export const memorySchema = z
  .object({
    /** Headroom kept free on each device; dispatch holds back below it. @defaultValue 0 */
    reserve: bytes.default(0),
    /**
     * Device memory a worker needs: a worker is started only on a device with this much
     * free (above `reserve`), counting what workers placed before it take. Unset: not checked.
     */
    need: bytes.optional(),
    /**
     * The most device memory a worker and its child processes may hold on each of its
     * devices; more is a stray (reported; killed with `--on-stray kill`). Unset: no limit.
     */
    limit: bytes.optional(),
  })
  .strict();

export const restartSchema = z
  .object({
    /** First delay before restarting a crashed worker; doubles each time. @defaultValue 200ms */
    backoff: duration('restart.backoff').default(200),
    /** Longest delay between restarts. @defaultValue 10s */
    max_backoff: duration('restart.max_backoff').default(10_000),
    /** Crashes before ready, in a row, after which the worker is given up (crash loop). @defaultValue 5 */
    max_start_failures: positiveInt.default(5),
  })
  .strict();

/** `kind: http`: how gpupool serve starts, checks and reaches each replica of an off-the-shelf server. */
export const httpSchema = z
  .object({
    /** Path that answers 2xx once the server takes requests. @defaultValue /health */
    health: z.string().regex(/^\//, 'must be a path starting with "/"').default('/health'),
    /** A ready replica's health path is checked this often. @defaultValue 2s */
    health_every: duration('http.health_every').default(2000),
    /** Failed health checks in a row after which a replica is restarted. @defaultValue 3 */
    unhealthy_after: positiveInt.default(3),
    /** Replica i listens on `port_base + i`; a free port is picked when unset. */
    port_base: z.number().int().min(1).max(65535).optional(),
    /** A proxied request running longer is answered 504 (or cut, once streaming). @defaultValue 10m */
    request_timeout: duration('http.request_timeout').default(600_000),
  })
  .strict();

export const modelSchema = z
  .object({
    /** `process`: a protocol worker; `http`: an off-the-shelf server (serve only). @defaultValue process */
    kind: z.enum(['process', 'http']).default('process'),
    /**
     * argv of the worker; relative paths resolve against the config file's folder (the worker's
     * cwd). A number or boolean (YAML's `[w.py, --n, 5]`) is its text, as in `env:`.
     */
    command: z.array(z.union([z.string().min(1), z.number(), z.boolean()], { error: 'must be a string, a number or a boolean' }).transform(String)).min(1),
    /** Which devices to use. @defaultValue all */
    devices: deviceSpec.default(['all']),
    /** Workers on each device. @defaultValue 1 */
    // Bounded: each is a process (a typo of 5000 forked until the host choked).
    workers_per_device: positiveInt.max(256, 'at most 256 workers per device (each is a process)').default(1),
    /** Devices each worker spans (model split over cards). @defaultValue 1 */
    devices_per_worker: positiveInt.default(1),
    /**
     * With `memory.need`: `spread` gives each device up to `workers_per_device` workers where
     * they fit; `pack` puts the same number on as few devices as will hold them. @defaultValue spread
     */
    placement: z.enum(['spread', 'pack']).default('spread'),
    /**
     * `auto`: each worker runs on its own share of the CPUs near its devices (their NUMA
     * node), disjoint from its neighbours' (`taskset`, before the model loads); `none`: where
     * the OS puts it. @defaultValue none
     */
    cpus: z.enum(['none', 'auto']).default('none'),
    batch: batchSchema.default(() => batchSchema.parse({})),
    memory: memorySchema.default(() => memorySchema.parse({})),
    restart: restartSchema.default(() => restartSchema.parse({})),
    /** `kind: http` only: health path, ports, request timeout. */
    http: httpSchema.default(() => httpSchema.parse({})),
    /** Failed batches an item may be in before it is isolated, then failed. @defaultValue 3 */
    max_attempts: positiveInt.default(3),
    /** How long a worker may take from start to `ready`. @defaultValue 10m */
    start_timeout: duration('start_timeout').default(600_000),
    /** Extra environment for the worker, applied after pinning. */
    env: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()], { error: 'must be a string, a number or a boolean' }).transform(String)).default({}),
    /** Input field holding an item's cost (pages, tokens, pixels). @defaultValue cost */
    cost_field: z.string().min(1).default('cost'),
  })
  .strict();

export const configSchema = z
  .object({
    models: z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/, 'model names use letters, digits, _ . -'), modelSchema).refine((m) => Object.keys(m).length > 0, 'at least one model is required'),
  })
  .strict();

export type ModelConfig = z.output<typeof modelSchema> & { readonly name: string };
export type BatchConfig = z.output<typeof batchSchema>;
export type HttpConfig = z.output<typeof httpSchema>;
export type GpupoolConfigInput = z.input<typeof configSchema>;

export interface GpupoolConfig {
  /** Absolute path of the file it came from; undefined for inline configs. */
  readonly file?: string;
  /** Folder relative paths resolve against. */
  readonly baseDir: string;
  readonly models: Readonly<Record<string, ModelConfig>>;
}
