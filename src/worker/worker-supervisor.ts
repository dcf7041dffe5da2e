import type { FailedMessage, HelloMessage, ResultLinesMessage, ResultMessage } from '../protocol/index.js';
import type { WorkerExit, WorkerProcessOptions } from './worker-process-options.js';
import { WorkerProcess } from './worker-process.js';
import type { WorkerState } from './worker-state.js';
import { RestartScheduler, type RestartPolicy } from './restart-scheduler.js';

export interface SupervisorHandlers<B> {
  result(batch: B, msg: ResultMessage): void;
  resultLines(batch: B, msg: ResultLinesMessage): void;
  failed(batch: B, msg: FailedMessage): void;
  /** The process died; `exit.inflight` must be retried elsewhere. A restart is scheduled. */
  lost(exit: WorkerExit<B>): void;
  /** A (re)started process is ready for work. */
  ready(): void;
  /** The crash-loop guard tripped: no more restarts. */
  gaveUp(reason: string): void;
  hello?(msg: HelloMessage): void;
  /** A `release` went unanswered for 5 s (`WorkerHandlers.releaseUnanswered`). */
  releaseUnanswered?(): void;
}

export type SupervisedState = WorkerState | 'restarting' | 'given-up';

/**
 * Keeps one worker slot alive: restarts its process after a crash with exponential backoff,
 * and gives up after repeated deaths before ready. Other workers never wait on it.
 */
export class WorkerSupervisor<B> {
  private process?: WorkerProcess<B>;
  private readonly restarter: RestartScheduler;
  private closing = false;
  lastExit?: string;

  constructor(
    private readonly spawnOptions: WorkerProcessOptions,
    policy: RestartPolicy,
    private readonly handlers: SupervisorHandlers<B>,
  ) {
    this.restarter = new RestartScheduler(policy, {
      restart: () => this.spawn(),
      failed: (err) => {
        this.lastExit = err.message;
      },
      gaveUp: (failures, err) => this.handlers.gaveUp(`worker ${this.id} died ${failures} times in a row before ready: ${err.message}`),
    });
  }

  get restarts(): number {
    return this.restarter.restarts;
  }

  get id(): string {
    return this.spawnOptions.id;
  }

  get current(): WorkerProcess<B> | undefined {
    return this.process;
  }

  get state(): SupervisedState {
    if (this.restarter.givenUp) return 'given-up';
    if (this.restarter.pending) return 'restarting';
    return this.process?.state ?? 'starting';
  }

  get pid(): number | undefined {
    return this.process?.pid;
  }

  get inflightCount(): number {
    return this.process?.inflightCount ?? 0;
  }

  /** The first start: a failure here is the caller's error to report (bad command, bad model). */
  async start(): Promise<void> {
    await this.spawn();
  }

  dispatch(batch: B, itemsJson: readonly string[]): boolean {
    return this.process?.dispatch(batch, itemsJson) ?? false;
  }

  /** See {@link WorkerProcess.releaseMemory}; at once when no process runs. */
  releaseMemory(waited = true): Promise<void> {
    return this.process?.releaseMemory(waited) ?? Promise.resolve();
  }

  async stop(timeoutMs?: number): Promise<void> {
    this.closing = true;
    this.restarter.stop();
    await this.process?.stop(timeoutMs);
  }

  kill(): void {
    this.closing = true;
    this.restarter.stop();
    this.process?.kill('requested');
  }

  /** Kills the current process as if it had crashed (chaos testing, stray policy). */
  crash(message: string): void {
    this.process?.kill('killed', message);
  }

  private async spawn(): Promise<void> {
    const proc = new WorkerProcess<B>(this.spawnOptions, {
      result: (b, m) => this.handlers.result(b, m),
      resultLines: (b, m) => this.handlers.resultLines(b, m),
      failed: (b, m) => this.handlers.failed(b, m),
      hello: (m) => this.handlers.hello?.(m),
      releaseUnanswered: () => this.handlers.releaseUnanswered?.(),
      exit: (exit) => this.onExit(exit),
    });
    this.process = proc;
    await proc.start();
    this.restarter.ready();
    this.handlers.ready();
  }

  private onExit(exit: WorkerExit<B>): void {
    this.lastExit = exit.message;
    if (exit.reason === 'requested' && this.closing) {
      if (exit.inflight.length > 0) this.handlers.lost(exit);
      return;
    }
    this.handlers.lost(exit);
    if (!this.closing) this.restarter.schedule();
  }
}
