import path from 'node:path';
import type { OnStray } from '../audit/index.js';
import type { GpupoolConfig } from '../config/index.js';
import type { DeviceProvider } from '../devices/device.js';
import { GpupoolError } from '../errors/index.js';
import { checkBearerToken } from './bearer-token.js';
import type { PoolEvent } from '../pool/index.js';
import type { HttpModelsRegistrar } from '../replicas/index.js';

export interface ServeOptions {
  readonly config: GpupoolConfig;
  /** Address to bind; anything but a loopback address requires `token`. @defaultValue 127.0.0.1 */
  readonly host?: string;
  /** 0 picks a free port. @defaultValue 8000 */
  readonly port?: number;
  /** `--token` / `GPUPOOL_TOKEN`: every request must then carry `Authorization: Bearer <token>`. */
  readonly token?: string;
  /** `--allow-root`: folders whose files jobs may name by server-side path. @defaultValue none: no server-side paths */
  readonly allowRoots?: readonly string[];
  /** Jobs, their journals and results, learned limits, worker logs. @defaultValue `.gpupool/serve` in the working directory */
  readonly stateDir?: string;
  /** `--devices`: overrides every model's `devices:`. */
  readonly devices?: string;
  /** Items of online requests queued or running per model; past it requests get 429. @defaultValue max(1024, 4 × the model's worker capacity) */
  readonly maxQueued?: number;
  /** Longest an infer request may take (a request may ask for less with `timeout_ms`). @defaultValue 60s */
  readonly requestTimeoutMs?: number;
  /** Largest request body in bytes. @defaultValue 16 MiB */
  readonly bodyLimit?: number;
  /** Most inputs one infer request may carry. @defaultValue 4096 */
  readonly maxInputsPerRequest?: number;
  /** Device sampling and dashboard update period. @defaultValue 1000 */
  readonly sampleEveryMs?: number;
  /** `--on-stray`: what the audit does with a stray worker or replica. @defaultValue warn */
  readonly onStray?: OnStray;
  /** Device providers; default: discovered (NVML, smi tools, CPU). */
  readonly providers?: DeviceProvider[];
  /** Echo worker output here, prefixed (`-v`). */
  readonly echo?: NodeJS.WritableStream;
  /** Log each request (pino, to stderr). @defaultValue false */
  readonly logRequests?: boolean;
  readonly onEvent?: (event: PoolEvent) => void;
  /** Mounts the `kind: http` models' proxy routes (issue 4, item 3). @defaultValue src/replicas' `registerHttpModels` */
  readonly registerHttpModels?: HttpModelsRegistrar;
}

/** Options with every default applied and every value checked, once, at the edge. */
export interface ResolvedServeOptions extends Omit<ServeOptions, 'host' | 'port' | 'allowRoots' | 'stateDir' | 'requestTimeoutMs' | 'bodyLimit' | 'maxInputsPerRequest' | 'sampleEveryMs'> {
  readonly host: string;
  readonly port: number;
  readonly allowRoots: readonly string[];
  readonly stateDir: string;
  readonly requestTimeoutMs: number;
  readonly bodyLimit: number;
  readonly maxInputsPerRequest: number;
  readonly sampleEveryMs: number;
}

const LOOPBACK = /^(127(\.\d{1,3}){3}|::1|localhost|::ffff:127(\.\d{1,3}){3})$/i;

export function isLoopback(host: string): boolean {
  return LOOPBACK.test(host);
}

export function resolveServeOptions(o: ServeOptions): ResolvedServeOptions {
  const host = o.host ?? '127.0.0.1';
  const token = checkBearerToken(o.token);
  if (!isLoopback(host) && token === undefined) {
    throw new GpupoolError(
      'GPUPOOL_E_USAGE',
      `--host ${host} would expose the server beyond this machine without authentication: pass --token (or set GPUPOOL_TOKEN), or bind 127.0.0.1`,
    );
  }
  const port = o.port ?? 8000;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new GpupoolError('GPUPOOL_E_USAGE', `--port must be an integer in 0..65535, got ${port}`);
  const positive = (name: string, v: number | undefined, fallback: number): number => {
    if (v === undefined) return fallback;
    if (!Number.isInteger(v) || v < 1) throw new GpupoolError('GPUPOOL_E_USAGE', `${name} must be an integer ≥ 1, got ${v}`);
    return v;
  };
  return {
    ...o,
    token,
    host,
    port,
    allowRoots: o.allowRoots ?? [],
    stateDir: path.resolve(o.stateDir ?? path.join('.gpupool', 'serve')),
    requestTimeoutMs: positive('--request-timeout', o.requestTimeoutMs, 60_000),
    bodyLimit: positive('--body-limit', o.bodyLimit, 16 * 1024 * 1024),
    maxInputsPerRequest: positive('--max-inputs', o.maxInputsPerRequest, 4096),
    maxQueued: o.maxQueued === undefined ? undefined : positive('--max-queued', o.maxQueued, 0),
    sampleEveryMs: positive('sampleEveryMs', o.sampleEveryMs, 1000),
  };
}
