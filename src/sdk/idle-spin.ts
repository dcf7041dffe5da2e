/**
 * Polling for the next batch before sleeping, as the Python SDK does (docs/protocol.md §4): a
 * sleeping process is woken by the kernel from another CPU, and on a virtual machine that
 * wake-up is a large part of a round trip. A Node worker cannot poll its socket itself, but
 * while an immediate is pending, libuv checks its sockets without sleeping: a chain of
 * immediates keeps the event loop awake for a set time after the worker goes idle.
 */

export const DEFAULT_SPIN_US = 100;
export const MAX_SPIN_US = 1_000_000;

/** `GPUPOOL_SPIN_US` (whole microseconds, 0 turns polling off), read as the Python SDK reads it. */
export function spinMicros(env: NodeJS.ProcessEnv = process.env): number {
  const value = env.GPUPOOL_SPIN_US ?? '';
  if (value === '') return DEFAULT_SPIN_US;
  const us = /^[0-9]+$/.test(value) ? Number(value) : -1;
  if (us < 0 || us > MAX_SPIN_US) {
    throw new Error(`GPUPOOL_SPIN_US=${JSON.stringify(value)}: expected whole microseconds from 0 (no polling) to ${MAX_SPIN_US}`);
  }
  return us;
}

export class IdleSpin {
  private until = 0;
  private running = false;

  /** `busy()` ends the polling early: work arrived and is under way. `now` is the clock, in ms. */
  constructor(
    private readonly micros: number,
    private readonly busy: () => boolean,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Whether it is polling. */
  get active(): boolean {
    return this.running;
  }

  /** Polls for `micros` from now (again from now if it already polls). */
  start(): void {
    if (this.micros <= 0) return;
    this.until = this.now() + this.micros / 1000;
    if (!this.running) {
      this.running = true;
      setImmediate(this.tick);
    }
  }

  private readonly tick = (): void => {
    if (!this.busy() && this.now() < this.until) setImmediate(this.tick);
    else this.running = false;
  };
}
