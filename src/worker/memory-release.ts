/**
 * A worker gives back less than it could hold for ever: a reply that never comes must not keep
 * an item waiting for the device. A second is far more than emptying an allocator's cache takes.
 */
export const RELEASE_TIMEOUT_MS = 5_000;

/**
 * The `release` requests sent to one worker process and its `released` answers, in order:
 * each request resolves at its answer, at the process's end (its memory is gone with it), or
 * after {@link RELEASE_TIMEOUT_MS}.
 */
export class MemoryReleases {
  private readonly waiting: { resolve: () => void; timer: NodeJS.Timeout }[] = [];

  request(send: () => void): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.settle(entry), RELEASE_TIMEOUT_MS);
      const entry = { resolve, timer };
      this.waiting.push(entry);
      send();
    });
  }

  /** A `released` came: the oldest request is answered. False when none was waiting. */
  answered(): boolean {
    const oldest = this.waiting[0];
    if (oldest === undefined) return false;
    this.settle(oldest);
    return true;
  }

  /** The process ended: every request is settled. */
  settleAll(): void {
    for (const entry of [...this.waiting]) this.settle(entry);
  }

  private settle(entry: { resolve: () => void; timer: NodeJS.Timeout }): void {
    const i = this.waiting.indexOf(entry);
    if (i < 0) return;
    this.waiting.splice(i, 1);
    clearTimeout(entry.timer);
    entry.resolve();
  }
}
