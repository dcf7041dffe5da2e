import { threadSetting, wantsThread, type ThreadSetting } from '../threads/thread-setting.js';

export const WRITER_THREAD_ENV = 'GPUPOOL_WRITER_THREAD';

/** `GPUPOOL_WRITER_THREAD`: `auto` (the default: on from 4 CPUs), `on` or `off`. */
export function writerThreadSetting(env: NodeJS.ProcessEnv = process.env): ThreadSetting {
  return threadSetting(WRITER_THREAD_ENV, env);
}

/** Whether `gpupool run` makes and writes its output lines on a thread of its own. */
export function wantsWriterThread(setting: ThreadSetting, cpus?: number): boolean {
  return wantsThread(setting, cpus);
}
