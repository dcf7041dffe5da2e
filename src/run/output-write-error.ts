import { GpupoolError } from '../errors/index.js';
import { classifyWriteError } from '../store/index.js';

/**
 * A failed write of the results, worded for the user: no room as GPUPOOL_E_DISK_FULL
 * (`classifyWriteError`), any other system error (EIO, or ESPIPE from an output that accepts no
 * positioned writes, such as a file of /proc) as GPUPOOL_E_OUTPUT naming the file. Anything else
 * (a journal's SQLite error, a bug) is returned unchanged.
 */
export function outputWriteError(err: unknown, output: string): unknown {
  const classified = classifyWriteError(err, output);
  if (classified !== err) return classified;
  const sys = err as { code?: unknown; syscall?: unknown; message?: unknown } | null;
  if (typeof sys?.code !== 'string' || typeof sys.syscall !== 'string') return err;
  return new GpupoolError('GPUPOOL_E_OUTPUT', `cannot write the output ${output}: ${String(sys.message)}`, { cause: err });
}

/**
 * `open()` (the output's sink), with an error opening the output worded as by
 * {@link outputWriteError}; `undo` runs first (a writer thread started for it).
 */
export function openingOutput<T>(output: string, open: () => T, undo?: () => unknown): T {
  try {
    return open();
  } catch (err) {
    undo?.();
    throw outputWriteError(err, output);
  }
}
