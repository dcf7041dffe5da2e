import { GpupoolError } from '../../errors/index.js';

/**
 * An error from reading an input (permission denied, a directory where a file was expected, an
 * I/O error) as `GPUPOOL_E_INPUT_READ` naming the input and the system's reason, or undefined
 * when `err` is not a system error (a bug stays a bug, with its stack).
 */
export function inputReadError(err: unknown, input: string): GpupoolError | undefined {
  const sys = err as { code?: unknown; syscall?: unknown; message?: unknown } | null;
  if (typeof sys?.code !== 'string' || typeof sys.syscall !== 'string') return undefined;
  return new GpupoolError('GPUPOOL_E_INPUT_READ', `cannot read the input ${input}: ${String(sys.message)}`, { cause: err });
}
