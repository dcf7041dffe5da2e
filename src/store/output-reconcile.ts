import fs from 'node:fs';
import { GpupoolError } from '../errors/index.js';
import { classifyWriteError } from './journal-errors.js';

/**
 * Brings the output file back to what the journal committed, before a resumed run appends:
 * bytes past `committedBytes` are lines of a group that was written but never committed
 * (its items run again), so they are cut off. Returns how many bytes were cut.
 *
 * A file shorter than `committedBytes` lost committed lines (replaced or edited by hand, or
 * a power loss with durability `'process'`): that is GPUPOOL_E_JOURNAL_MISMATCH, never
 * papered over. An output that is a character device (`/dev/null`) is left alone.
 */
export function reconcileOutput(outputPath: string, committedBytes: number): number {
  let size: number;
  try {
    const stat = fs.statSync(outputPath);
    // A device (`-o /dev/null` with a --state-dir) keeps nothing: there is nothing to bring back.
    if (stat.isCharacterDevice()) return 0;
    size = stat.size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    if (committedBytes === 0) return 0;
    size = -1;
  }
  if (size < committedBytes) {
    const found = size < 0 ? 'is missing' : `has ${size} bytes`;
    throw new GpupoolError(
      'GPUPOOL_E_JOURNAL_MISMATCH',
      `the output ${outputPath} ${found} but the journal recorded ${committedBytes} bytes of results: it was replaced or cut since the last run; run with --fresh to write it again from the start`,
    );
  }
  if (size === committedBytes) return 0;
  try {
    fs.truncateSync(outputPath, committedBytes);
  } catch (err) {
    throw classifyWriteError(err, outputPath);
  }
  return size - committedBytes;
}
