import { GpupoolError, isGpupoolError } from '../errors/index.js';

/** One clear line (plus the remedy) and the code's own exit status; --json gets the HTTP-shaped body. */
export function reportError(err: unknown, json = false, out: NodeJS.WritableStream = process.stderr): number {
  const e = isGpupoolError(err) ? err : new GpupoolError('GPUPOOL_E_INTERNAL', (err as Error)?.stack ?? String(err));
  if (json) out.write(`${JSON.stringify(e.toJSON())}\n`);
  else out.write(`gpupool: ${e.code}: ${e.message}\n  remedy: ${e.remedy}\n`);
  return e.exitCode;
}
