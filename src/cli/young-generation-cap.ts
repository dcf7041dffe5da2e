import { PerformanceObserver } from 'node:perf_hooks';
import diagnosticsChannel from 'node:diagnostics_channel';
import v8 from 'node:v8';
import type { Worker } from 'node:worker_threads';
import { GpupoolError } from '../errors/index.js';

/** V8's young generation (both semispaces) is held at this by default: see {@link capYoungGeneration}. */
export const DEFAULT_YOUNG_GENERATION_MB = 16;

/** The environment variable that changes the cap; 0 leaves V8's own sizing. */
export const YOUNG_GENERATION_ENV = 'GPUPOOL_YOUNG_GENERATION_MB';

/** The cap in MB from {@link YOUNG_GENERATION_ENV}: a whole number ≥ 0, else an error naming the value. */
export function youngGenerationCapMb(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[YOUNG_GENERATION_ENV];
  if (raw === undefined || raw.trim() === '') return DEFAULT_YOUNG_GENERATION_MB;
  if (!/^\s*\d+\s*$/.test(raw)) {
    throw new GpupoolError('GPUPOOL_E_USAGE', `${YOUNG_GENERATION_ENV}=${JSON.stringify(raw)} is not allowed: a whole number of MB (${DEFAULT_YOUNG_GENERATION_MB} by default), or 0 to leave V8's own sizing`);
  }
  return Number(raw);
}

/**
 * The young generation's capacity, which V8 doubles as it grows. Not `space_size` alone: that is
 * the memory committed, and V8's memory reducer uncommits the idle semispace without lowering the
 * capacity (4 MB committed → 2 MB, capacity still 2 × 2 MB), so a cap that read 2 MB allowed the
 * next growth, which doubled the capacity to 8 MB. A semispace holds what is used and what is
 * available of the one being filled.
 */
function youngGenerationBytes(): number {
  const space = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
  if (space === undefined) return 0;
  return Math.max(space.space_size, 2 * (space.space_used_size + space.space_available_size));
}

/**
 * Stops V8's young generation from growing past `capBytes` (at the largest doubling within it),
 * and lets it grow again up to that after V8 shrank it (an idle `serve`). Returns a function that
 * stops watching.
 *
 * Why: V8 doubles its young generation once enough has survived scavenges, which in a long
 * `gpupool run` happens after ~1.5 s (16 → 32 MB), and dead Buffers wait longer between
 * scavenges of a bigger one. That made a 10M-item run peak 20-30 MB above a 1M-item run, with
 * no gain: what gpupool keeps in flight dies well within a young generation of 16 MB (dev VM:
 * 10M items 129-131 → 107-108 MB, no slower; `bench/results/memory/ab-2026-12-05-young-gen/`).
 * Node sizes the young generation only from its command line (`--max-semi-space-size`), which
 * `npx gpupool` does not control; V8 reads its growth factor at each growth, so the cap holds
 * that at 1 once the size is reached. The check runs after every collection (a `gc` performance
 * entry, delivered on the next turn of the event loop), far more often than V8 grows; only a
 * single turn long enough for two growths could pass the cap.
 */
export function capYoungGeneration(capBytes: number): () => void {
  let factor = 0;
  const check = (): void => {
    // V8 grows it by doubling: stop where the next doubling would pass the cap.
    const wanted = youngGenerationBytes() * 2 > capBytes ? 1 : 2;
    // A factor of 1 is set again at every check: V8 puts the process-wide flag back to 2 each
    // time an isolate starts (see `onThread`).
    if (wanted === factor && wanted === 2) return;
    v8.setFlagsFromString(`--semi-space-growth-factor=${wanted}`);
    factor = wanted;
  };
  check();
  const observer = new PerformanceObserver(check);
  observer.observe({ entryTypes: ['gc'] });
  // A worker thread's isolate (the JSONL reader's) sets V8's growth factor, a flag of the whole
  // process, back to 2 as it starts: once it is up, the cap is set again at once rather than
  // after this isolate's next collection, which may already double the young generation. A
  // collection here between the thread's start and its 'online' event can still double it once
  // if it is at the cap already: V8's own scavenge task, run within a millisecond of the start,
  // did so at about 1 start in 20 in the test's workload (setting the cap again at every turn
  // until 'online' did not help: this thread makes no turn in that millisecond). `gpupool run`
  // starts its thread before the heavy allocation.
  const reassert = () => {
    if (factor === 1) v8.setFlagsFromString('--semi-space-growth-factor=1');
  };
  const onThread = (message: unknown) => (message as { worker: Worker }).worker.once('online', reassert);
  diagnosticsChannel.subscribe('worker_threads', onThread);
  return () => {
    observer.disconnect();
    diagnosticsChannel.unsubscribe('worker_threads', onThread);
  };
}
