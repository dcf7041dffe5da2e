import type { FailedMessage, HelloMessage, ResultMessage } from '../protocol/index.js';
import type { WorkerExit, WorkerProcessOptions } from './worker-process-options.js';
import { WorkerProcess } from './worker-process.js';
import type { WorkerState } from './worker-state.js';

export interface RestartPolicy {
  /** First delay before a restart; doubles on each crash in a row. */
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
  /** Restarts in a row that die before `ready`: then the worker is given up (crash loop). */
  readonly maxStartFailures: number;
}

export interface SupervisorHandlers<B> {
  result(batch: B, msg: ResultMessage): void;
  failed(batch: B, msg: FailedMessage): void;
  /** The process died; `exit.inflight` must be retried elsewhere. A restart is scheduled. */
  lost(exit: WorkerExit<B>): void;
  /** A (re)started process is ready for work. */
  ready(): void;
  /** The crash-loop guard tripped: no more restarts. */
  gaveUp(reason: string): void;
  hello?(msg: HelloMessage): void;
}

export type SupervisedState = WorkerState | 'restarting' | 'given-up';

/**
 * Keeps one worker slot alive: restarts its process after a crash with exponential backoff,
 * and gives up after repeated deaths before ready. Other workers never wait on it.
 */
export class WorkerSupervisor<B> {
  private process?: WorkerProcess<B>;
  private startFailures = 0;
  private backoff: number;
  private restartTimer?: NodeJS.Timeout;
  private closing = false;
  private givenUp = false;
  restarts = 0;
  lastExit?: string;

  constructor(
    private readonly spawnOptions: WorkerProcessOptions,
    private readonly policy: RestartPolicy,
    private readonly handlers: SupervisorHandlers<B>,
  ) {
    this.backoff = policy.backoffMs;
  }

  get id(): string {
    return this.spawnOptions.id;
  }

  get current(): WorkerProcess<B> | undefined {
    return this.process;
  }

  get state(): SupervisedState {
    if (this.givenUp) return 'given-up';
    if (this.restartTimer) return 'restarting';
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

  async stop(timeoutMs?: number): Promise<void> {
    this.closing = true;
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    await this.process?.stop(timeoutMs);
  }

  kill(): void {
    this.closing = true;
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    this.process?.kill('requested');
  }

  /** Kills the current process as if it had crashed (chaos testing, stray policy). */
  crash(message: string): void {
    this.process?.kill('killed', message);
  }

  private async spawn(): Promise<void> {
    const proc = new WorkerProcess<B>(this.spawnOptions, {
      result: (b, m) => this.handlers.result(b, m),
      failed: (b, m) => this.handlers.failed(b, m),
      hello: (m) => this.handlers.hello?.(m),
      exit: (exit) => this.onExit(exit),
    });
    this.process = proc;
    await proc.start();
    this.startFailures = 0;
    this.handlers.ready();
  }

  private onExit(exit: WorkerExit<B>): void {
    this.lastExit = exit.message;
    if (exit.reason === 'requested' && this.closing) {
      if (exit.inflight.length > 0) this.handlers.lost(exit);
      return;
    }
    this.handlers.lost(exit);
    if (!this.closing) this.scheduleRestart();
  }

  private scheduleRestart(): void {
    const delay = this.backoff;
    this.backoff = Math.min(this.policy.maxBackoffMs, this.backoff * 2);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.closing) return;
      this.restarts++;
      this.spawn().then(
        () => {
          this.backoff = this.policy.backoffMs;
        },
        (err: Error) => {
          this.lastExit = err.message;
          this.startFailures++;
          if (this.startFailures >= this.policy.maxStartFailures) {
            this.givenUp = true;
            this.handlers.gaveUp(`worker ${this.id} died ${this.startFailures} times in a row before ready: ${err.message}`);
          } else if (!this.closing) {
            this.scheduleRestart();
          }
        },
      );
    }, delay);
  }
}
