/** A worker as far as its learned batch limit goes. */
interface LimitedWorker {
  readonly deviceKey: string;
  readonly limit: { readonly value: number };
}

/** Each device key's workers' learned batch limits, in worker order (several with `workers_per_device`). */
export function workerLimitsByDevice(workers: readonly LimitedWorker[]): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const w of workers) (out[w.deviceKey] ??= []).push(w.limit.value);
  return out;
}

/**
 * The limit a device keeps, to report and to remember for the next run: its workers' mean,
 * rounded down. Workers sharing a card share its memory: the first to grow its batches takes
 * it, and the others' batches fail beside them (on an H200, two workers learned 75 and 12).
 * Their sum is what fitted together, so each starts the next run at an even share of it.
 */
export function deviceLimits(byDevice: Record<string, readonly number[]>): Record<string, number> {
  return Object.fromEntries(Object.entries(byDevice).map(([key, limits]) => [key, sharedLimit(limits)]));
}

/** The limit of a device whose workers' limits are `limits`: their mean, rounded down, at least 1. */
export function sharedLimit(limits: readonly number[]): number {
  return Math.max(1, Math.floor(limits.reduce((a, b) => a + b, 0) / limits.length));
}
