import { Worker } from 'node:worker_threads';

/**
 * Starts the thread whose entry is `name`.js beside the module at `callerUrl` (in the CLI bundle:
 * beside the bundle, where scripts/bundle.mjs puts each thread's entry). From the TypeScript
 * sources (tests, `tsx`) the entry is `name`.ts, and the thread must first register tsx, which
 * Node 20 does not carry from `--import` into a worker's entry module.
 *
 * The caller unrefs the thread once its listeners are on (a `message` listener refs it again in
 * Node 20), and refs it only while it waits for the thread: one dropped without being ended then
 * does not hold the process open, and a wait is not cut short by the process exiting.
 */
export function startModuleThread(callerUrl: string, name: string, workerData: unknown): Worker {
  const fromSources = callerUrl.endsWith('.ts');
  // A worker inherits the parent's flags by default, but refuses `--input-type` (gpupool run from
  // `node -e`). Flags given explicitly may not include V8's (`--max-old-space-size`), so the
  // thread gets none only in that case, and inherits them all otherwise.
  const execArgv = process.execArgv.some((flag) => flag.startsWith('--input-type')) ? [] : undefined;
  const entry = new URL(`./${name}.${fromSources ? 'ts' : 'js'}`, callerUrl);
  return fromSources
    ? new Worker(`import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); })`, { eval: true, workerData, execArgv })
    : new Worker(entry, { workerData, execArgv });
}
