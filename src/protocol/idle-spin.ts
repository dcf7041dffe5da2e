/**
 * Polling for the next frame before sleeping, at both ends of the protocol channel (docs/protocol.md
 * §4): a sleeping process is woken by the kernel from another CPU, and on a virtual machine that
 * wake-up is a large part of a round trip. Node cannot poll a socket itself, but while an
 * immediate is pending, libuv checks its sockets without sleeping: a chain of immediates keeps
 * the event loop awake for a set time. The TypeScript SDK polls this way after it answers (for its
 * next batch); gpupool after it sends a batch (for the answer: `src/worker/answer-polling.ts`).
 */

export const DEFAULT_SPIN_US = 100;
export const MAX_SPIN_US = 1_000_000;

/** `GPUPOOL_SPIN_US` (whole microseconds, 0 turns polling off), read as the Python SDK reads it. */
export function spinMicros(env: NodeJS.ProcessEnv = process.env): number {
  return microsFromEnv(env, 'GPUPOOL_SPIN_US', DEFAULT_SPIN_US);
}

/** A polling time from the variable `name`: whole microseconds from 0 to MAX_SPIN_US; `fallback` when unset or empty. */
export function microsFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const value = env[name] ?? '';
  if (value === '') return fallback;
  const us = /^[0-9]+$/.test(value) ? Number(value) : -1;
  if (us < 0 || us > MAX_SPIN_US) {
    throw new Error(`${name}=${JSON.stringify(value)}: expected whole microseconds from 0 (no polling) to ${MAX_SPIN_US}`);
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

  /** Stops polling at the next turn. */
  stop(): void {
    this.until = 0;
  }

  private readonly tick = (): void => {
    if (!this.busy() && this.now() < this.until) setImmediate(this.tick);
    else this.running = false;
  };
}
