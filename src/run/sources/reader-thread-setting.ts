import os from 'node:os';
import { GpupoolError } from '../../errors/index.js';

export const READER_THREAD_ENV = 'GPUPOOL_READER_THREAD';
const SETTINGS = ['auto', 'on', 'off'] as const;
export type ReaderThreadSetting = (typeof SETTINGS)[number];

/**
 * `auto` reads a JSONL file on a thread of its own from this many CPUs up. Below it the thread
 * would take a CPU from the workers: on the 2-core dev VM, where one worker and gpupool's main
 * thread already fill both, it only adds the cost of posting the records across.
 */
export const AUTO_MIN_CPUS = 4;

/** `GPUPOOL_READER_THREAD`: `auto` (the default), `on` or `off`. */
export function readerThreadSetting(env: NodeJS.ProcessEnv = process.env): ReaderThreadSetting {
  const raw = env[READER_THREAD_ENV] ?? '';
  if (raw === '') return 'auto';
  if ((SETTINGS as readonly string[]).includes(raw)) return raw as ReaderThreadSetting;
  throw new GpupoolError('GPUPOOL_E_USAGE', `${READER_THREAD_ENV}=${JSON.stringify(raw)} is not allowed: auto (a thread from ${AUTO_MIN_CPUS} CPUs up), on or off`);
}

/** Whether `gpupool run` reads a JSONL file on its own thread. */
export function wantsReaderThread(setting: ReaderThreadSetting, cpus: number = os.availableParallelism()): boolean {
  return setting === 'on' || (setting === 'auto' && cpus >= AUTO_MIN_CPUS);
}
