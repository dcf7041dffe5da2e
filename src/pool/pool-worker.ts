import type { Device } from '../devices/device.js';
import type { FailedMessage, HelloMessage, ResultLinesMessage, ResultMessage } from '../protocol/index.js';
import type { AdaptiveBatchLimit, Batch, DispatchTarget, ModelScheduler } from '../scheduler/index.js';
import type { WorkerExit } from '../worker/index.js';
import { WorkerSupervisor, type RestartPolicy } from '../worker/index.js';
import type { WorkerProcessOptions } from '../worker/index.js';

export interface PoolWorkerEvents {
  gaveUp(worker: PoolWorker, reason: string): void;
  hello(worker: PoolWorker, msg: HelloMessage): void;
  /**
   * The process died: `items` it held went back to the queue or, their attempts spent, were
   * written as `failed` (with a `fatal` answer just before, that batch's items count too).
   */
  lost(worker: PoolWorker, exit: WorkerExit<Batch>, items: { back: number; failed: number }): void;
  /** Its process said `ready.release` and left a `release` unanswered past the timeout. */
  releaseUnanswered?(worker: PoolWorker): void;
}

/** A supervised worker seen by the scheduler as a dispatch target, with its device and live limit. */
export class PoolWorker implements DispatchTarget {
  readonly supervisor: WorkerSupervisor<Batch>;
  /** Set by the memory guard when the device's free memory fell under the reserve. */
  heldBack = false;
  /** Batches it answered with outputs, and with out-of-memory (its limit, shared with the model's other workers on its device, counts theirs too). */
  batches = 0;
  ooms = 0;
  /** What the last process said in `ready.pipeline`; kept while a restarted one loads. */
  private pipeline = 1;
  /** Each of its devices' own key (`cuda:0`, `cuda:1`): whom it shares memory with. */
  readonly deviceKeys: readonly string[];
  /** The batch its process answered `fatal` before it exited: counted with the batches it held. */
  private fatalItems?: { back: number; failed: number };

  constructor(
    readonly id: string,
    readonly deviceKey: string,
    readonly devices: readonly Device[],
    readonly limit: AdaptiveBatchLimit,
    private readonly configuredInflight: number,
    private readonly scheduler: ModelScheduler,
    spawnOptions: WorkerProcessOptions,
    restart: RestartPolicy,
    events: PoolWorkerEvents,
  ) {
    this.deviceKeys = devices.map((d) => d.key);
    this.supervisor = new WorkerSupervisor<Batch>(spawnOptions, restart, {
      result: (batch: Batch, msg: ResultMessage) => {
        this.batches++;
        scheduler.onResult(batch, msg.outputs, msg.errors, batchMemory(msg));
      },
      resultLines: (batch: Batch, msg: ResultLinesMessage) => {
        this.batches++;
        scheduler.onResultJson(batch, msg.outputs, msg.errors, batchMemory(msg));
      },
      failed: (batch: Batch, msg: FailedMessage) => {
        if (msg.kind === 'oom') this.ooms++;
        const failed = scheduler.onFailed(batch, msg.kind, msg.message);
        if (msg.kind === 'fatal') this.fatalItems = { back: batch.size - failed, failed };
      },
      lost: (exit) => {
        // A worker killed for breaking the protocol (an answer that cannot be read) did not crash: its items say what it did.
        const code = exit.reason === 'deadline' ? 'GPUPOOL_E_BATCH_DEADLINE' : exit.reason === 'protocol' ? 'GPUPOOL_E_WORKER_PROTOCOL' : 'GPUPOOL_E_WORKER_CRASHED';
        const held = exit.inflight.reduce((n, b) => n + b.size, 0);
        const failed = scheduler.onLost(exit.inflight, { code, message: exit.message });
        const fatal = this.fatalItems ?? { back: 0, failed: 0 };
        this.fatalItems = undefined;
        // Told after the scheduler took them: the line says which went back and which ended failed.
        events.lost(this, exit, { back: held - failed + fatal.back, failed: failed + fatal.failed });
      },
      ready: () => {
        this.pipeline = this.supervisor.current?.pipeline ?? 1;
        scheduler.pump();
      },
      gaveUp: (reason) => events.gaveUp(this, reason),
      hello: (msg) => events.hello(this, msg),
      releaseUnanswered: () => events.releaseUnanswered?.(this),
    });
  }

  get model(): string {
    return this.scheduler.model;
  }

  get inflightCount(): number {
    return this.supervisor.inflightCount;
  }

  get maxBatch(): number | undefined {
    return this.supervisor.current?.maxBatch;
  }

  /**
   * `batch.in_flight`, raised to one more than the batches the worker works on at once: a
   * worker that launches batch k+1 before collecting batch k needs k+2 already on its way.
   */
  get maxInflight(): number {
    return this.pipeline > 1 ? Math.max(this.configuredInflight, this.pipeline + 1) : this.configuredInflight;
  }

  acceptsWork(): boolean {
    if (this.heldBack) return false;
    const s = this.supervisor.state;
    return s === 'ready' || s === 'busy';
  }

  send(batch: Batch, itemsJson: string[]): boolean {
    return this.supervisor.dispatch(batch, itemsJson);
  }

  releaseMemory(waited = true): Promise<void> {
    return this.supervisor.releaseMemory(waited);
  }
}

/** An answer's `batch_memory` when it is a count of bytes; anything else is ignored, as an unknown field is. */
function batchMemory(msg: ResultMessage | ResultLinesMessage): number | undefined {
  const bytes = msg.batch_memory;
  return typeof bytes === 'number' && Number.isFinite(bytes) && bytes >= 0 ? bytes : undefined;
}
