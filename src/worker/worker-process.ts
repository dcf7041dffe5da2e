import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { GpupoolError } from '../errors/index.js';
import { noteSpawnedOnDevices } from '../devices/index.js';
import { batchJsonParts, decodeWorkerMessage, encodeFrame, FrameDecoder, PROTOCOL_VERSION, writeFrameParts, type HelloMessage, type ReadyMessage, type WorkerMessage } from '../protocol/index.js';
import { exitMessage, exitSummary } from './exit-message.js';
import { InflightBatches } from './inflight-batches.js';
import { MemoryReleases, RELEASE_TIMEOUT_MS } from './memory-release.js';
import { StdoutFrames } from './stdout-frames.js';
import { WorkerLog } from './worker-log.js';
import type { ExitReason, WorkerHandlers, WorkerProcessOptions } from './worker-process-options.js';
import type { WorkerState } from './worker-state.js';

const PROTOCOL_FD = 3;

/** The most batches one worker may ask to hold at once through `ready.pipeline`. */
const MAX_PIPELINE = 8;

/**
 * One resident worker process: spawn, handshake, frames in and out, lifecycle. It tracks
 * which batches the process holds so that none is lost when it dies; what to do with them
 * is the scheduler's business.
 */
export class WorkerProcess<B> {
  state: WorkerState = 'starting';
  hello?: HelloMessage;
  ready?: ReadyMessage;
  readonly log: WorkerLog;
  private child?: ChildProcess;
  private channel?: Socket;
  private readonly inflight = new InflightBatches<B>();
  private nextBatchId = 1;
  private headSince = 0;
  /** When the last answer came (performance.now()): the worker polls for its next batch a while after. */
  private answeredAt = -Infinity;
  private deadlineTimer?: NodeJS.Timeout;
  private endReason?: ExitReason;
  private endMessage = '';
  private fatalMessage?: string;
  private startWaiter?: { resolve: () => void; reject: (err: Error) => void; timer: NodeJS.Timeout };
  private exited?: Promise<void>;
  /** Unknown frame types already noted in the log (each once, and a few at most). */
  private readonly unknownTypesNoted = new Set<string>();
  private readonly releases = new MemoryReleases(() => {
    this.log.note(`"release" unanswered after ${RELEASE_TIMEOUT_MS / 1000} s ("ready" said "release": true): gpupool went on without its "released"`);
    this.handlers.releaseUnanswered?.();
  });

  constructor(
    readonly options: WorkerProcessOptions,
    private readonly handlers: WorkerHandlers<B>,
  ) {
    this.log = new WorkerLog(options.logFile, options.echo ? { prefix: `[${options.id}]`, out: options.echo } : undefined);
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get inflightCount(): number {
    return this.inflight.size;
  }

  /**
   * Whether the worker still polls after its last answer (`ready.poll_us`), so that a send wakes
   * no one: only then does polling for its answer cost it nothing (see AnswerPolling.sent). It
   * began polling before we read that answer (12-16 µs before, where we slept): a quarter of its
   * time is left as margin.
   */
  private stillPolling(): boolean {
    const us = this.ready?.poll_us;
    return typeof us === 'number' && us > 0 && performance.now() - this.answeredAt < (us / 1000) * 0.75;
  }

  get maxBatch(): number | undefined {
    return this.ready?.max_batch;
  }

  /** Batches the worker said it works on at once (`ready.pipeline`); 1 when it did not say; undefined before `ready`. */
  get pipeline(): number | undefined {
    if (!this.ready) return undefined;
    const p = this.ready.pipeline;
    // Bounded: a typo (1000) must not let one worker take every queued item.
    return typeof p === 'number' && Number.isInteger(p) && p >= 1 ? Math.min(p, MAX_PIPELINE) : 1;
  }

  /** Spawns the process and resolves once it said `ready`; rejects with GPUPOOL_E_WORKER_START otherwise. */
  start(): Promise<void> {
    const { command, cwd, env, id } = this.options;
    this.log.note(`starting ${JSON.stringify(command)} in ${cwd}`);
    const child = spawn(command[0], command.slice(1), { cwd, env, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
    this.child = child;
    this.log.attach(child.stdout, false, new StdoutFrames((type, line) => this.frameOnStdout(type, line)));
    this.log.attach(child.stderr, true);
    const channel = child.stdio[PROTOCOL_FD] as Socket;
    this.channel = channel;
    const decoder = new FrameDecoder();
    channel.on('data', (chunk: Buffer) => {
      let payloads: Buffer[];
      try {
        payloads = decoder.pushBytes(chunk);
      } catch (err) {
        return this.protocolError((err as Error).message);
      }
      for (const p of payloads) {
        // Nothing a worker sends after breaking the protocol is trusted: a `ready` behind a bad
        // hello must not make it ready, and a batch it answers goes back with the others at its exit.
        if (this.endReason === 'protocol') return;
        let msg: WorkerMessage;
        try {
          msg = decodeWorkerMessage(p);
        } catch (err) {
          return this.protocolError((err as Error).message);
        }
        this.onMessage(msg);
      }
    });
    channel.on('error', () => {}); // EPIPE when the child dies mid-write; 'close' tells the story.
    // Inside a container a driver may name this process by its host PID: learned from this note (devices/host-pids.ts).
    const forget = noteSpawnedOnDevices(child.pid, env.GPUPOOL_DEVICE_UUIDS);
    this.exited = new Promise((resolve) => child.on('close', (code, signal) => {
      forget();
      this.onClose(code, signal);
      resolve();
    }));
    child.on('error', (err) => this.log.note(`spawn error: ${err.message}`));

    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.endReason = 'killed';
        this.endMessage = `did not become ready within ${this.options.startTimeoutMs} ms`;
        child.kill('SIGKILL');
      }, this.options.startTimeoutMs);
      this.startWaiter = { resolve, reject, timer };
    });
    return ready.then(
      () => {
        this.log.note(`ready (pid ${child.pid})`);
        if (this.options.batchDeadlineMs > 0) {
          const every = Math.max(50, Math.min(1000, this.options.batchDeadlineMs / 4));
          this.deadlineTimer = setInterval(() => this.checkDeadline(), every).unref();
        }
      },
      (err: Error) => {
        // One line, as the crash lines are: the exception its stderr ends with, not the whole
        // traceback (which the log keeps). It was printed whole, once more in each crash-loop line.
        throw new GpupoolError('GPUPOOL_E_WORKER_START', `worker ${id} failed to start: ${exitSummary(err.message, this.options.logFile)}`);
      },
    );
  }

  /** Sends a batch whose items are already JSON texts; returns false if the worker cannot take it. */
  dispatch(batch: B, itemsJson: readonly string[]): boolean {
    if (!this.channel || (this.state !== 'ready' && this.state !== 'busy')) return false;
    const id = this.nextBatchId++;
    if (this.inflight.size === 0) this.headSince = performance.now();
    this.inflight.add(id, batch);
    // Counted with the batch it holds, before the write (which may throw): every batch in
    // `inflight` is settled once, by its answer or by the exit handler.
    this.options.answerPolling?.sent(this.stillPolling());
    this.state = 'busy';
    const channel = this.channel;
    // Batches sent in the same tick leave in one writev: a syscall per tick, not per batch.
    if (channel.writableCorked === 0) {
      channel.cork();
      process.nextTick(() => channel.uncork());
    }
    writeFrameParts(channel, batchJsonParts(id, itemsJson));
    return true;
  }

  /**
   * Asks the worker to give back the device memory it caches (`release`, docs/protocol.md), for
   * another worker's item that needs the device whole. Resolves at its `released`, at its end,
   * or after a timeout (none when not `waited` for); at once for a worker whose `ready` did not
   * offer it (it would ignore it).
   */
  releaseMemory(waited = true): Promise<void> {
    if (!this.channel || this.ready?.release !== true || (this.state !== 'ready' && this.state !== 'busy')) return Promise.resolve();
    const channel = this.channel;
    return this.releases.request(() => channel.write(encodeFrame('{"type":"release"}')), waited);
  }

  /** Drain: in-flight batches finish, then the process exits; killed if it takes longer than `timeoutMs`. */
  async stop(timeoutMs = 30_000): Promise<void> {
    if (!this.child || this.state === 'stopped' || this.state === 'crashed') return this.exited;
    this.endReason ??= 'requested';
    this.state = 'draining';
    this.channel?.write(encodeFrame('{"type":"stop"}'));
    const term = setTimeout(() => this.child?.kill('SIGTERM'), timeoutMs);
    const kill = setTimeout(() => this.child?.kill('SIGKILL'), timeoutMs + 5000);
    await this.exited;
    clearTimeout(term);
    clearTimeout(kill);
  }

  /** Ends the process now; its in-flight batches come back through the exit handler. */
  kill(reason: ExitReason = 'killed', message = 'killed by gpupool'): void {
    if (!this.child || this.state === 'stopped' || this.state === 'crashed') return;
    this.endReason ??= reason;
    if (!this.endMessage) this.endMessage = message;
    this.child.kill('SIGKILL');
  }

  whenExited(): Promise<void> {
    return this.exited ?? Promise.resolve();
  }

  private onMessage(msg: WorkerMessage): void {
    switch (msg.type) {
      case 'result':
      case 'result_lines':
      case 'failed': {
        // Checked before the batch is taken: a batch taken and then refused would be neither
        // answered nor handed back by the exit handler, and its items never written.
        if (msg.type === 'result' && !Array.isArray(msg.outputs)) return this.protocolError(`result ${JSON.stringify(msg.id)} has no outputs array`);
        const batch = this.inflight.take(msg.id);
        if (batch === undefined) return this.protocolError(this.unknownBatch(msg));
        this.options.answerPolling?.settled();
        this.headSince = this.answeredAt = performance.now();
        if (this.inflight.size === 0 && this.state === 'busy') this.state = 'ready';
        if (msg.type === 'result') {
          this.handlers.result(batch, msg);
        } else if (msg.type === 'result_lines') {
          this.handlers.resultLines(batch, msg);
        } else {
          if (msg.kind === 'fatal') {
            this.endReason ??= 'fatal';
            this.endMessage ||= `fatal device error: ${msg.message}`;
            // The worker exits right after this answer: a batch sent now would die with it.
            this.state = 'draining';
          }
          this.handlers.failed(batch, msg);
        }
        return;
      }
      case 'hello': {
        const devices: unknown = msg.devices;
        // Placement is verified from this list: one of another shape is refused, not guessed at.
        if (devices !== undefined && !(Array.isArray(devices) && devices.every((d) => typeof d === 'object' && d !== null && !Array.isArray(d)))) {
          return this.protocolError(`hello's "devices" must be a list of objects such as {"name": "NVIDIA H200", "uuid": "GPU-…"} ([] for the CPU), not ${JSON.stringify(devices).slice(0, 80)}`);
        }
        // A worker of another protocol version would be misread frame by frame; say so at its start.
        if (msg.protocol !== undefined && msg.protocol !== PROTOCOL_VERSION) {
          return this.protocolError(`hello says protocol ${JSON.stringify(msg.protocol).slice(0, 40)}; this gpupool speaks protocol ${PROTOCOL_VERSION} (docs/protocol.md): use an SDK of protocol ${PROTOCOL_VERSION}, or a gpupool that speaks the worker's`);
        }
        this.hello = msg;
        this.handlers.hello?.(msg);
        return;
      }
      case 'ready':
        this.ready = msg;
        if (this.state === 'starting') this.state = 'ready';
        if (this.startWaiter) {
          clearTimeout(this.startWaiter.timer);
          this.startWaiter.resolve();
          this.startWaiter = undefined;
        }
        return;
      case 'released':
        if (!this.releases.answered()) this.log.note('ignored a "released" that answers no "release"');
        return;
      case 'fatal':
        this.fatalMessage = msg.message;
        this.log.note(`worker reported fatal: ${msg.message}\n${msg.traceback ?? ''}`);
        return;
      default: {
        // Unknown types are ignored (forward compatibility), but said once in the log: a typo
        // ("reslt") would otherwise leave its batch waiting for batch.deadline without a word.
        const type = (msg as { type: string }).type;
        if (!this.unknownTypesNoted.has(type) && this.unknownTypesNoted.size < 16) {
          this.unknownTypesNoted.add(type);
          this.log.note(`ignored a frame of unknown type ${JSON.stringify(type).slice(0, 80)} (docs/protocol.md: unknown types are ignored; the answers are result, result_lines, result_array and failed)`);
        }
        return;
      }
    }
  }

  /** Why an answer names no batch the worker holds, in words a worker's author can act on. */
  private unknownBatch(msg: { type: string; id: unknown }): string {
    const held = this.inflight.heldIds();
    const holds = held.length === 0 ? 'it holds none' : `it holds ${held.join(', ')}`;
    if (msg.id === undefined) return `${msg.type} has no "id" (the id of the batch it answers; ${holds})`;
    if (typeof msg.id !== 'number') return `${msg.type} for batch ${JSON.stringify(msg.id)}: an id is the batch's number, as the batch frame gave it (${holds})`;
    return `${msg.type} for unknown batch ${msg.id}: not sent, or already answered (${holds})`;
  }

  /**
   * The worker printed what looks like a protocol frame to stdout. Before `ready`, or while it
   * holds batches, that is the frame gpupool is waiting for, gone where it is never read: a
   * protocol error now, not a start that times out in 10 minutes or a batch at batch.deadline.
   * Later, with nothing held, it is only noted.
   */
  private frameOnStdout(type: string, line: string): void {
    const detail = `the worker wrote a ${type} frame to stdout (${JSON.stringify(line)}): frames go on file descriptor ${PROTOCOL_FD} (GPUPOOL_PROTOCOL_FD), each a 4-byte little-endian length and then the JSON (docs/protocol.md §2); stdout is only the log`;
    if (this.state === 'starting' || this.inflight.size > 0) return this.protocolError(detail);
    this.log.note(detail);
  }

  private protocolError(detail: string): void {
    this.log.note(`protocol error: ${detail}`);
    this.kill('protocol', `protocol error: ${detail}`);
  }

  private checkDeadline(): void {
    if (this.inflight.size > 0 && performance.now() - this.headSince > this.options.batchDeadlineMs) {
      this.kill('deadline', `a batch ran longer than batch.deadline (${this.options.batchDeadlineMs} ms)`);
    }
  }

  private onClose(code: number | null, signal: NodeJS.Signals | null): void {
    clearInterval(this.deadlineTimer);
    const requested = this.endReason === 'requested';
    const clean = requested && code === 0;
    this.state = clean || (requested && this.inflight.size === 0) ? 'stopped' : 'crashed';
    const reason: ExitReason = this.endReason ?? 'exited';
    let how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    // A script that ran to its end without serving: nothing in its stderr says why.
    if (this.startWaiter && code === 0 && this.hello === undefined) how += ' before it said hello: does it call gpupool.serve(...) (Python) or serve({...}) (TypeScript)? See docs/protocol.md';
    const tail = this.log.stderrTail();
    const message = exitMessage([this.fatalMessage ?? this.endMessage, `worker ${this.options.id} ${how}`], tail);
    this.log.note(`closed: ${how} (${reason})`);
    this.releases.settleAll();
    this.log.close();
    if (this.startWaiter) {
      clearTimeout(this.startWaiter.timer);
      this.startWaiter.reject(new Error(message));
      this.startWaiter = undefined;
      return;
    }
    const inflight = this.inflight.takeAll();
    this.options.answerPolling?.settled(inflight.length);
    this.handlers.exit({ code, signal, reason, inflight, message });
  }
}
