import os from 'node:os';
import { GpupoolError } from '../../errors/index.js';

const SETTINGS = ['auto', 'on', 'off'] as const;
export type ThreadSetting = (typeof SETTINGS)[number];

/**
 * `auto` gives `gpupool run` a thread of its own for reading or writing from this many CPUs up.
 * Below it the thread would take a CPU from the workers: on the 2-core dev VM, where one worker
 * and gpupool's main thread already fill both, it only adds the cost of posting across.
 */
export const AUTO_MIN_CPUS = 4;

/** An `auto|on|off` variable (`GPUPOOL_READER_THREAD`, `GPUPOOL_WRITER_THREAD`); unset is `auto`. */
export function threadSetting(name: string, env: NodeJS.ProcessEnv = process.env): ThreadSetting {
  const raw = env[name] ?? '';
  if (raw === '') return 'auto';
  if ((SETTINGS as readonly string[]).includes(raw)) return raw as ThreadSetting;
  throw new GpupoolError('GPUPOOL_E_USAGE', `${name}=${JSON.stringify(raw)} is not allowed: auto (a thread from ${AUTO_MIN_CPUS} CPUs up), on or off`);
}

/** Whether the setting asks for the thread on a machine with `cpus` CPUs. */
export function wantsThread(setting: ThreadSetting, cpus: number = os.availableParallelism()): boolean {
  return setting === 'on' || (setting === 'auto' && cpus >= AUTO_MIN_CPUS);
}
