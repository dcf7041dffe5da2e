import { GpupoolError } from '../errors/index.js';
import { IdleSpin, microsFromEnv } from '../protocol/idle-spin.js';

/**
 * Off unless asked for. On the 2-core dev VM polling took 35-50 µs off the p50 of a 64-item
 * no-op batch but added ~100 µs to the Python worker's p99 (with both CPUs busy, every other
 * thread waits longer); on a 16-core GPU host the gain was smaller and unsteady
 * (bench/results/dispatch/2026-12-05-answer-polling/).
 */
export const DEFAULT_ANSWER_POLL_US = 0;

/**
 * gpupool's side of polling (docs/protocol.md §4, docs/config.md): after it sends a lone batch
 * (no other batch out, in any worker), the event loop keeps turning for `GPUPOOL_ANSWER_POLL_US`
 * instead of sleeping in the kernel, so an answer that comes back within that time is read at once.
 *
 * Why: the workers poll for their next batch, but gpupool sleeps while they work. A worker
 * answering a sleeping process pays for waking it inside its own send (an inter-processor
 * interrupt through the hypervisor on a VM), and gpupool reads the answer only once it is
 * scheduled again. On the 2-core dev VM a 64-item no-op batch through the Python SDK spent
 * 54-58 µs from predict to its answer sent and 12-16 µs more until gpupool read it; polling made
 * those 39 and 0 µs (bench/dispatch/latency-trace.ts).
 *
 * Why only a lone batch: with several out, gpupool is at work on a stream, answers wake it soon
 * enough, and polling would only take CPU from other processes. Polling whenever a batch was out
 * halved `gpupool serve`'s requests/s on the 2-core VM (36.7k → 17.0k, its load generator and
 * worker beside it); yielding the CPU between polls (sched_yield) won that back but lost most of
 * the latency. And only where the send woke no one (the sender's `poll`; see `sent`).
 */
export class AnswerPolling {
  private out = 0;
  private readonly spin: IdleSpin;

  /** `now` is the clock, in ms (a test's own). */
  constructor(micros: number, now?: () => number) {
    this.spin = new IdleSpin(micros, () => this.out !== 1, now);
  }

  /** Whether the event loop is being kept awake now. */
  get active(): boolean {
    return this.spin.active;
  }

  /** Batches sent and not yet answered or given back. */
  get outstanding(): number {
    return this.out;
  }

  /**
   * A batch went out; `poll`: poll for its answer if it is the only one out. The sender says no
   * where its send wakes a sleeping worker: the kernel often puts the woken process on the
   * sender's CPU, and a loop polling there keeps it waiting (measured on the 2-core dev VM, a
   * one-item batch sent after 2 ms idle, Python worker: p50 48-53 µs without polling, 148-152 µs
   * with it).
   */
  sent(poll: boolean): void {
    if (++this.out !== 1) return;
    // Lone again: poll for this one, or not at all (a chain still running for the last lone
    // batch would otherwise go on polling for this one).
    if (poll) this.spin.start();
    else this.spin.stop();
  }

  /** `count` batches came back (answered, or returned by a worker that died). */
  settled(count = 1): void {
    this.out -= count;
  }
}

/** How long gpupool polls for the answer to a lone batch, from `GPUPOOL_ANSWER_POLL_US`. */
export function answerPollMicros(env: NodeJS.ProcessEnv = process.env): number {
  try {
    return microsFromEnv(env, 'GPUPOOL_ANSWER_POLL_US', DEFAULT_ANSWER_POLL_US);
  } catch (err) {
    throw new GpupoolError('GPUPOOL_E_USAGE', (err as Error).message);
  }
}
