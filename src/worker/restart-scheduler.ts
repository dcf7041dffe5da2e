/** How a crashed process is brought back. */
export interface RestartPolicy {
  /** First delay before a restart; doubles on each crash in a row. */
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
  /** Restarts in a row that die before `ready`: then the process is given up (crash loop). */
  readonly maxStartFailures: number;
}

export interface RestartHooks {
  /** Starts the process again; resolves once it is ready, rejects if it died or never got ready. */
  restart(): Promise<void>;
  /** A restart attempt failed; unless the guard trips, another is scheduled. */
  failed?(err: Error): void;
  /** The crash-loop guard tripped: `failures` restarts in a row died before ready. No more restarts. */
  gaveUp(failures: number, lastError: Error): void;
}

/**
 * The restart policy shared by protocol workers and HTTP replicas: exponential backoff
 * after each crash, reset once a process is ready again, and a crash-loop guard that stops
 * after `maxStartFailures` restarts in a row die before ready.
 */
export class RestartScheduler {
  restarts = 0;
  private backoff: number;
  private startFailures = 0;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private tripped = false;

  constructor(
    private readonly policy: RestartPolicy,
    private readonly hooks: RestartHooks,
  ) {
    this.backoff = policy.backoffMs;
  }

  /** A restart is waiting out its backoff. */
  get pending(): boolean {
    return this.timer !== undefined;
  }

  get givenUp(): boolean {
    return this.tripped;
  }

  /** The process is ready: the next crash starts from the first backoff again. */
  ready(): void {
    this.startFailures = 0;
    this.backoff = this.policy.backoffMs;
  }

  /** After a crash: restart after the current backoff, then double it. */
  schedule(): void {
    if (this.stopped || this.tripped || this.timer) return;
    const delay = this.backoff;
    this.backoff = Math.min(this.policy.maxBackoffMs, this.backoff * 2);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.stopped) return;
      this.restarts++;
      this.hooks.restart().then(
        () => this.ready(),
        (err: Error) => {
          this.startFailures++;
          this.hooks.failed?.(err);
          if (this.startFailures >= this.policy.maxStartFailures) {
            this.tripped = true;
            this.hooks.gaveUp(this.startFailures, err);
          } else {
            this.schedule();
          }
        },
      );
    }, delay);
  }

  /** No more restarts (the owner is closing). */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
