/**
 * Bounds what is in flight: reading waits while `max` items are read but not yet
 * committed to the output. This is what keeps host memory flat in the input size.
 */
export class Admission {
  private pending = 0;
  private waiter?: () => void;

  constructor(public max: number) {}

  get inFlight(): number {
    return this.pending;
  }

  /** Takes `n` places; resolves at once while there is room, otherwise when enough has been released. */
  acquire(n = 1): Promise<void> | undefined {
    this.pending += n;
    if (this.pending < this.max) return undefined;
    return new Promise((resolve) => (this.waiter = resolve));
  }

  release(n: number): void {
    this.pending -= n;
    // Resume at three quarters, not at max - 1: fewer wake-ups, steadier reading.
    if (this.waiter && this.pending <= this.max * 0.75) {
      const w = this.waiter;
      this.waiter = undefined;
      w();
    }
  }

  /** Wakes a waiting reader (to stop it). */
  wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }
}
