/** A worker as far as its learned batch limit goes. */
interface LimitedWorker {
  readonly deviceKey: string;
  readonly limit: { readonly value: number };
}

/**
 * Each device key's workers' batch limits, in worker order. The workers of a model on one device
 * share one limit (dispatch-target.ts), so with `workers_per_device` the value repeats: the
 * summary shows what each worker ran with.
 */
export function workerLimitsByDevice(workers: readonly LimitedWorker[]): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const w of workers) (out[w.deviceKey] ??= []).push(w.limit.value);
  return out;
}

/** The limit each device keeps, to report and to remember for the next run: the one its workers share. */
export function deviceLimits(byDevice: Record<string, readonly number[]>): Record<string, number> {
  return Object.fromEntries(Object.entries(byDevice).map(([key, limits]) => [key, Math.max(1, Math.min(...limits))]));
}
