import { threadSetting, wantsThread, type ThreadSetting } from '../threads/thread-setting.js';

export const READER_THREAD_ENV = 'GPUPOOL_READER_THREAD';
export type ReaderThreadSetting = ThreadSetting;

/** `GPUPOOL_READER_THREAD`: `auto` (the default), `on` or `off`. */
export function readerThreadSetting(env: NodeJS.ProcessEnv = process.env): ReaderThreadSetting {
  return threadSetting(READER_THREAD_ENV, env);
}

/** Whether `gpupool run` reads a JSONL file on its own thread. */
export function wantsReaderThread(setting: ReaderThreadSetting, cpus?: number): boolean {
  return wantsThread(setting, cpus);
}
