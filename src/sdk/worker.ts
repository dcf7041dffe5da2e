/**
 * The TypeScript worker SDK (`gpupool/worker`): implement setup + predict, call serve().
 * Speaks docs/protocol.md over the descriptor named by GPUPOOL_PROTOCOL_FD.
 */
import net from 'node:net';
import { encodeFrame, FrameDecoder } from '../protocol/frame-codec.js';
import type { FailureKind, HostMessage, ItemErrorBody, SeenDevice } from '../protocol/messages.js';
import { PROTOCOL_VERSION } from '../protocol/messages.js';
import { FatalError, ItemError, OutOfMemoryError } from './worker-errors.js';

export { FatalError, ItemError, OutOfMemoryError } from './worker-errors.js';

export interface DeviceInfo {
  /** `cuda`, `rocm`, `npu` or `cpu`. */
  kind: string;
  /** Index inside the pinned view: always 0 for the first assigned device. */
  index: number;
  /** Number of devices this worker was given. */
  count: number;
  /** Host indices, as `gpupool devices` shows them. */
  ids: string[];
  uuids: string[];
  workerId: string;
  model: string;
}

export interface WorkerModel {
  /** Reported in hello, e.g. `onnxruntime-node 1.22`. */
  framework?: string;
  /** What the worker sees, for placement checks; default: nothing (CPU). */
  describeDevices?(device: DeviceInfo): SeenDevice[] | Promise<SeenDevice[]>;
  setup?(device: DeviceInfo): void | Promise<void>;
  predict(batch: unknown[]): unknown[] | Promise<unknown[]>;
  /** Largest batch accepted; sent in `ready`. */
  maxBatch?: number;
  teardown?(): void | Promise<void>;
}

export function deviceFromEnv(env: NodeJS.ProcessEnv = process.env): DeviceInfo {
  const split = (v: string | undefined) => (v ? v.split(',').filter(Boolean) : []);
  const ids = split(env.GPUPOOL_DEVICE_IDS);
  return {
    kind: env.GPUPOOL_DEVICE_KIND ?? 'cpu',
    index: 0,
    count: Math.max(1, ids.length),
    ids,
    uuids: split(env.GPUPOOL_DEVICE_UUIDS),
    workerId: env.GPUPOOL_WORKER_ID ?? 'standalone',
    model: env.GPUPOOL_MODEL ?? 'model',
  };
}

function failureKind(err: unknown): FailureKind {
  if (err instanceof OutOfMemoryError) return 'oom';
  if (err instanceof FatalError) return 'fatal';
  return 'batch';
}

/** Runs the worker loop until gpupool sends `stop` or closes the stream. */
export async function serve(model: WorkerModel): Promise<void> {
  const fd = Number(process.env.GPUPOOL_PROTOCOL_FD ?? 3);
  const socket = new net.Socket({ fd, readable: true, writable: true });
  const send = (msg: object) => socket.write(encodeFrame(JSON.stringify(msg)));
  const device = deviceFromEnv();

  send({
    type: 'hello',
    protocol: PROTOCOL_VERSION,
    pid: process.pid,
    sdk: 'typescript/0.1.0',
    framework: model.framework ?? `node ${process.version}`,
    devices: model.describeDevices ? await model.describeDevices(device) : [],
  });
  try {
    await model.setup?.(device);
  } catch (err) {
    const e = err as Error;
    send({ type: 'fatal', message: e?.message ?? String(err), traceback: e?.stack });
    socket.end(() => process.exit(1));
    return;
  }
  send(model.maxBatch ? { type: 'ready', max_batch: model.maxBatch } : { type: 'ready' });

  const decoder = new FrameDecoder();
  // Batches run one at a time, in arrival order; the next one is already buffered.
  let chain: Promise<void> = Promise.resolve();
  let stopping = false;
  const finish = async (code: number) => {
    await chain;
    await model.teardown?.();
    socket.end(() => process.exit(code));
  };

  const runBatch = async (id: number, items: unknown[]) => {
    try {
      const outputs = await model.predict(items);
      if (!Array.isArray(outputs) || outputs.length !== items.length) {
        throw new Error(`predict returned ${Array.isArray(outputs) ? outputs.length : typeof outputs} outputs for ${items.length} inputs`);
      }
      let errors: Record<string, ItemErrorBody> | undefined;
      for (let i = 0; i < outputs.length; i++) {
        const out = outputs[i];
        if (out instanceof ItemError) {
          (errors ??= {})[i] = out.code ? { message: out.message, code: out.code } : { message: out.message };
          outputs[i] = null;
        }
      }
      send(errors ? { type: 'result', id, outputs, errors } : { type: 'result', id, outputs });
    } catch (err) {
      const kind = failureKind(err);
      send({ type: 'failed', id, kind, message: (err as Error)?.message ?? String(err) });
      if (kind === 'fatal') socket.end(() => process.exit(70));
    }
  };

  socket.on('data', (chunk: Buffer) => {
    for (const payload of decoder.push(chunk)) {
      const msg = JSON.parse(payload) as HostMessage;
      if (msg.type === 'batch') {
        chain = chain.then(() => runBatch(msg.id, msg.items));
      } else if (msg.type === 'stop' && !stopping) {
        stopping = true;
        void finish(0);
      }
    }
  });
  socket.on('end', () => void finish(0));
  socket.on('error', () => process.exit(1));
}
