/**
 * A worker gives back less than it could hold for ever: a reply that never comes must not keep
 * an item waiting for the device. A second is far more than emptying an allocator's cache takes.
 */
export const RELEASE_TIMEOUT_MS = 5_000;

/**
 * The `release` requests sent to one worker process and its `released` answers, in order:
 * each request resolves at its answer, at the process's end (its memory is gone with it), or
 * after {@link RELEASE_TIMEOUT_MS}. A request that timed out is still owed its answer (a worker
 * answers `release` between batches, so it may come after a batch longer than the timeout):
 * that answer, when it comes, is its, not the next request's. A request nothing waits for (a
 * cache trimmed before larger batches) is not timed: it settles at its answer or the end.
 */
export class MemoryReleases {
  private readonly waiting: { resolve: () => void; timer?: NodeJS.Timeout }[] = [];
  /** Requests that timed out, unanswered: older than any timed one still waiting (every one waits as long). */
  private late = 0;

  /** `timedOut`: told at each request settled by the timeout, not by its answer (the user is told: the device waited). */
  constructor(private readonly timedOut: () => void = () => {}) {}

  /** `timed`: settled after {@link RELEASE_TIMEOUT_MS} if still unanswered, and `timedOut` told. */
  request(send: () => void, timed = true): Promise<void> {
    return new Promise((resolve) => {
      const timer = timed
        ? setTimeout(() => {
            if (!this.settle(entry)) return;
            this.late++;
            this.timedOut();
          }, RELEASE_TIMEOUT_MS)
        : undefined;
      const entry = { resolve, timer };
      this.waiting.push(entry);
      send();
    });
  }

  /** A `released` came: the oldest request is answered. False when none was asked. */
  answered(): boolean {
    if (this.late > 0) {
      this.late--;
      return true;
    }
    const oldest = this.waiting[0];
    if (oldest === undefined) return false;
    this.settle(oldest);
    return true;
  }

  /** The process ended: every request is settled. */
  settleAll(): void {
    this.late = 0;
    for (const entry of [...this.waiting]) this.settle(entry);
  }

  private settle(entry: { resolve: () => void; timer?: NodeJS.Timeout }): boolean {
    const i = this.waiting.indexOf(entry);
    if (i < 0) return false;
    this.waiting.splice(i, 1);
    clearTimeout(entry.timer);
    entry.resolve();
    return true;
  }
}
