import fs from 'node:fs';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { resolveConfig, type ModelConfig } from '../../src/config/index.js';
import { NvidiaSmiProvider, type DeviceProvider } from '../../src/devices/index.js';
import type { PoolEvent } from '../../src/pool/index.js';
import { registerReplicaProxy, ReplicaSet, type ReplicaProxyOptions } from '../../src/replicas/index.js';
import { fakeTools } from '../devices/fake-tools.js';
import { ROOT, tempDir } from '../helpers/cli.js';

export const SERVER = path.join(ROOT, 'examples', 'http-server', 'server.py');
export const FIXTURES = path.join(ROOT, 'test', 'replicas', 'fixtures');
/** The two cards of the captured H200 host, as the fake nvidia-smi lists them. */
export const GPU0 = 'GPU-7cb87390-070c-caf7-0085-ee35d0beed8d';
export const GPU1 = 'GPU-aba85625-a4c1-3e15-29ac-adba2f481c57';

/** A `kind: http` model through the real schema: the example server unless `command` says otherwise. */
export function httpModel(name: string, fields: Record<string, unknown> = {}): ModelConfig {
  const raw = { models: { [name]: { kind: 'http', command: ['python3', SERVER, '--port', '{port}'], ...fields } } };
  return resolveConfig(raw, ROOT).models[name];
}

/**
 * Two fake NVIDIA cards: the real nvidia-smi provider runs a fake `nvidia-smi` printing a
 * captured two-H200 listing. `apps` is the file its process query prints.
 */
export async function twoFakeGpus(): Promise<{ providers: DeviceProvider[]; apps: string }> {
  const tools = await fakeTools();
  return { providers: [new NvidiaSmiProvider(tools.nvidia)], apps: path.join(tools.dir, 'apps.csv') };
}

export interface Started {
  readonly set: ReplicaSet;
  readonly app: FastifyInstance;
  readonly url: string;
  readonly events: PoolEvent[];
  readonly logDir: string;
  close(): Promise<void>;
}

/** A replica set behind a bare Fastify instance with the proxy, listening on a real socket. */
export async function startBehindProxy(model: ModelConfig, options: { devices?: string; proxy?: ReplicaProxyOptions; bodyLimit?: number } = {}): Promise<Started> {
  const { providers } = await twoFakeGpus();
  const events: PoolEvent[] = [];
  const logDir = tempDir('gpupool-replicas-');
  const set = await ReplicaSet.start({ model, baseDir: ROOT, logDir, providers, devices: options.devices, onEvent: (e) => events.push(e), stopGraceMs: 2000 });
  const app = Fastify({ bodyLimit: options.bodyLimit });
  registerReplicaProxy(app, new Map([[model.name, set]]), options.proxy);
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    set,
    app,
    url: `${address}/v1/models/${model.name}`,
    events,
    logDir,
    async close() {
      await app.close();
      await set.close();
    },
  };
}

export interface Prediction {
  status: number;
  replica: string | null;
  body: { outputs: unknown[]; pid: number; device: { worker: string; cuda_visible_devices: string } };
}

export async function predict(url: string, inputs: unknown[], extra: Record<string, unknown> = {}, signal?: AbortSignal): Promise<Prediction> {
  const res = await fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inputs, ...extra }), signal });
  return { status: res.status, replica: res.headers.get('x-gpupool-replica'), body: (await res.json()) as Prediction['body'] };
}

/** Polls until `check` holds; fails naming `what` after `timeoutMs`. */
export async function waitFor(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function readPid(file: string): number {
  return Number(fs.readFileSync(file, 'utf8'));
}
