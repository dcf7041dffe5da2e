/**
 * The TypeScript worker SDK (`gpupool/worker`): implement setup + predict, call serve().
 * Speaks docs/protocol.md over the descriptor named by GPUPOOL_PROTOCOL_FD.
 */
import net from 'node:net';
import { resultLinesJson } from '../protocol/decode-message.js';
import { encodeFrame, FrameDecoder, writeFrame, writeFrameParts } from '../protocol/frame-codec.js';
import type { FailureKind, HostMessage, ItemErrorBody, ResultLinesHeader, SeenDevice } from '../protocol/messages.js';
import { PROTOCOL_VERSION } from '../protocol/messages.js';
import { IdleSpin, spinMicros } from '../protocol/idle-spin.js';
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
  /**
   * How many batches an asynchronous `predict` may work on at once (1–8, default 1). With 2,
   * the next batch's predict starts while the last one's promise is pending (an onnxruntime
   * `session.run` on another thread, a request to a device), and gpupool keeps 3 in flight
   * (`ready.pipeline`). Answers go out as each promise settles.
   */
  pipeline?: number;
  teardown?(): void | Promise<void>;
  /**
   * Drop what you cache on the device, when gpupool asks: another worker on the same device has
   * an item that needs it whole, or this worker just ran a batch holding an item that ran out of
   * memory where batches of its size fit, or another's batch ran out of memory for its size,
   * or the batch limit the workers on its device share has grown (then nothing waits for it).
   * Offered in `ready` only when defined (an onnxruntime arena, a pool of device buffers);
   * gpupool then waits for it to finish before that item starts. Called between batches, never
   * beside a predict: the batches sent before are answered first, those sent after wait for it.
   */
  releaseDeviceMemory?(): void | Promise<void>;
  /**
   * Bytes of device memory the batch just predicted took at its peak, above what was allocated
   * before it, or undefined (not known). Called after each predict; the answer carries it as
   * `batch_memory`, so that gpupool can tell a batch far heavier than usual (a page among small
   * items) and, on a device other workers of the model share, have this worker give back its cache
   * (docs/protocol.md). With `pipeline` above 1, batches overlap: say what this one took if you can tell.
   */
  batchMemory?(): number | undefined;
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

function pipelineOf(model: WorkerModel): number {
  const p = model.pipeline ?? 1;
  if (!Number.isInteger(p) || p < 1 || p > 8) throw new Error(`pipeline must be an integer from 1 to 8, not ${String(p)}`);
  return p;
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
  let pipeline = 1;
  let spinUs = 0;
  try {
    pipeline = pipelineOf(model); // before setup: a long model load should not come first
    spinUs = spinMicros();
    await model.setup?.(device);
  } catch (err) {
    const e = err as Error;
    send({ type: 'fatal', message: e?.message ?? String(err), traceback: e?.stack });
    socket.end(() => process.exit(1));
    return;
  }
  send({
    type: 'ready',
    ...(model.maxBatch ? { max_batch: model.maxBatch } : {}),
    ...(pipeline > 1 ? { pipeline } : {}),
    ...(spinUs > 0 ? { poll_us: spinUs } : {}),
    ...(model.releaseDeviceMemory ? { release: true } : {}),
  });

  const decoder = new FrameDecoder();
  // Batches start in arrival order. Up to `pipeline` lanes (one by default) each take the next
  // waiting batch when their last one is answered; the next ones are already buffered. A
  // `release` waits in line too: the last lane running gives the memory back once the batches
  // before it are answered, and starts the ones after it when that is done (as the Python SDK
  // does), so the hook never drops buffers a predict still uses.
  const waiting: ({ id: number; items: unknown[] } | 'release')[] = [];
  let lanes = 0;
  /** A lane is answering `release`: no batch starts until it is done. */
  let releasing = false;
  let drained: () => void = () => {};
  let idle: Promise<void> = Promise.resolve();
  let stopping = false;
  // Idle after an answer: poll for the next batch a while before sleeping.
  const spin = new IdleSpin(spinUs, () => lanes > 0 || stopping);
  const finish = async (code: number) => {
    while (lanes > 0) await idle;
    await model.teardown?.();
    socket.end(() => process.exit(code));
  };

  // The gpupool that started us names the answer forms it reads (docs/protocol.md).
  const forms = (process.env.GPUPOOL_RESULT_FORMS ?? '').split(',');
  const resultLinesAccepted = forms.includes('result_lines');
  const resultArrayAccepted = forms.includes('result_array');
  const answer = (id: number, outputs: unknown, count: number) => {
    if (!Array.isArray(outputs) || outputs.length !== count) {
      throw new Error(`predict returned ${Array.isArray(outputs) ? outputs.length : typeof outputs} outputs for ${count} inputs`);
    }
    const memory = measured();
    const memoryField = memory === undefined ? '' : `,"batch_memory":${memory}`;
    if (resultArrayAccepted && !outputs.some((out) => out instanceof ItemError)) {
      // One stringify of the whole list: half the worker's time of one per output (64 outputs of
      // ~110 B: 11 against 22 µs on the 2-core VM), for about 2 µs more of splitting in gpupool.
      // An output JSON cannot write (undefined, a function) becomes null, as it does one by one.
      // "strict": JSON.stringify never writes NaN or Infinity, so gpupool need not check each bare value.
      writeFrameParts(socket, [`{"type":"result_array","id":${id},"count":${count},"strict":true${memoryField}}\n`, JSON.stringify(outputs)]);
      return;
    }
    // result_lines: each output's JSON on its own line, so the host passes it on without parsing.
    const lines = new Array<string>(outputs.length);
    let errors: Record<string, ItemErrorBody> | undefined;
    for (let i = 0; i < outputs.length; i++) {
      const out: unknown = outputs[i];
      if (out instanceof ItemError) {
        (errors ??= {})[i] = out.code ? { message: out.message, code: out.code } : { message: out.message };
        lines[i] = 'null';
      } else {
        lines[i] = JSON.stringify(out) ?? 'null';
      }
    }
    if (!resultLinesAccepted) {
      // An older gpupool: the classic result (the outputs' text is valid JSON, so it splices in).
      const text = `{"type":"result","id":${id},"outputs":[${lines.join(',')}]${errors ? `,"errors":${JSON.stringify(errors)}` : ''}${memoryField}}`;
      writeFrame(socket, text);
      return;
    }
    const header: ResultLinesHeader = errors ? { type: 'result_lines', id, count, errors } : { type: 'result_lines', id, count };
    if (memory !== undefined) header.batch_memory = memory;
    writeFrame(socket, resultLinesJson(header, lines));
  };
  /** The model's `batchMemory()` reading when it is a count of bytes; a hook that throws or says anything else leaves it out. */
  const measured = (): number | undefined => {
    if (model.batchMemory === undefined) return undefined;
    try {
      const bytes = model.batchMemory();
      return Number.isSafeInteger(bytes) && bytes! >= 0 ? bytes : undefined;
    } catch {
      return undefined;
    }
  };
  const fail = (id: number, err: unknown) => {
    const kind = failureKind(err);
    send({ type: 'failed', id, kind, message: (err as Error)?.message ?? String(err) });
    if (kind === 'fatal') socket.end(() => process.exit(70));
  };

  /** Answers `release`, said done however the hook ends: gpupool holds an item back until it hears. */
  const release = async () => {
    try {
      await model.releaseDeviceMemory?.();
    } catch (err) {
      process.stderr.write(`gpupool: release failed (memory not given back): ${(err as Error)?.stack ?? String(err)}\n`);
    }
    send({ type: 'released' });
  };

  /**
   * One lane: runs waiting batches one after another. A synchronous predict never leaves this
   * loop (no promise per batch, and a second lane never starts); an asynchronous one lets the
   * next lane start while its promise is pending.
   */
  const runQueued = async () => {
    if (lanes++ === 0) idle = new Promise((resolve) => (drained = resolve));
    while (waiting.length > 0) {
      const next = waiting[0];
      if (next === 'release') {
        if (lanes > 1) break; // another lane still runs a batch sent before it: the last one gives it back
        waiting.shift();
        releasing = true;
        await release();
        releasing = false;
        startLanes();
        continue;
      }
      waiting.shift();
      const { id, items } = next;
      try {
        let outputs = model.predict(items);
        if (outputs instanceof Promise) outputs = await outputs;
        answer(id, outputs, items.length);
      } catch (err) {
        fail(id, err);
      }
    }
    if (--lanes === 0) {
      drained();
      spin.start();
    }
  };

  /** Lanes for the waiting batches, up to `pipeline`; a `release` first in line waits for the running ones. */
  function startLanes(): void {
    while (!releasing && lanes < pipeline && waiting.length > 0 && !(waiting[0] === 'release' && lanes > 0)) void runQueued();
  }

  socket.on('data', (chunk: Buffer) => {
    // Answers to the batches of one chunk leave in one write.
    socket.cork();
    let stopNow = false;
    for (const payload of decoder.push(chunk)) {
      const msg = JSON.parse(payload) as HostMessage;
      if (msg.type === 'batch') {
        waiting.push({ id: msg.id, items: msg.items });
      } else if (msg.type === 'stop' && !stopping) {
        stopping = stopNow = true;
      } else if (msg.type === 'release') {
        waiting.push('release');
      }
    }
    startLanes();
    socket.uncork();
    // After the batches of this chunk were queued: stop finishes them first.
    if (stopNow) void finish(0);
  });
  socket.on('end', () => void finish(0));
  socket.on('error', () => process.exit(1));
}
