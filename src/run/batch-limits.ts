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
 * The limit a device keeps, to report and to remember for the next run: the smallest of its
 * workers'. Workers sharing a card share its memory, and one worker's batches can make another's
 * fail; the most cautious limit is the one known to fit beside the others.
 */
export function deviceLimits(byDevice: Record<string, readonly number[]>): Record<string, number> {
  return Object.fromEntries(Object.entries(byDevice).map(([key, limits]) => [key, Math.min(...limits)]));
}
