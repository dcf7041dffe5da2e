import type { GpupoolConfig } from '../config/index.js';
import { readFreeMemory } from '../pool/index.js';
import type { ReplicaSetOptions } from './replica-set-options.js';
import { ReplicaSet } from './replica-set.js';

/** The models a front end runs as replica sets (`kind: http`); the rest go to the Pool. */
export function httpModelNames(config: GpupoolConfig, models: readonly string[] = Object.keys(config.models)): string[] {
  return models.filter((name) => config.models[name]?.kind === 'http');
}

/**
 * Starts a ReplicaSet for every `kind: http` model among `models` (default: all), at once.
 * If one fails to start, the others are destroyed and its error is thrown.
 */
export async function startReplicaSets(
  config: GpupoolConfig,
  options: Omit<ReplicaSetOptions, 'model' | 'baseDir'> & {
    readonly models?: readonly string[];
    /** Each set as soon as it exists, before its replicas start. */
    readonly onCreated?: (set: ReplicaSet) => void;
  },
): Promise<Map<string, ReplicaSet>> {
  const names = httpModelNames(config, options.models);
  // One reading of free memory for every set: models placed by `memory.need` take their share in turn.
  const providers = options.providers;
  let free: Promise<Map<string, number>> | undefined;
  const freeMemory = options.freeMemory ?? (providers ? () => (free ??= readFreeMemory(providers)) : undefined);
  const started = await Promise.allSettled(names.map((name) => ReplicaSet.start({ ...options, freeMemory, model: config.models[name], baseDir: config.baseDir }, options.onCreated)));
  const sets = new Map<string, ReplicaSet>();
  started.forEach((r, i) => {
    if (r.status === 'fulfilled') sets.set(names[i], r.value);
  });
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.all([...sets.values()].map((s) => s.destroy()));
    throw failed.reason;
  }
  return sets;
}
