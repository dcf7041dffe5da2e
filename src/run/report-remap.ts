import { progressMode } from './progress-reporter.js';
import type { RunOptions } from './run-options.js';
import type { RemapCounts } from '../store/index.js';

/**
 * The line a run prints when its folder changed in the middle since its journal was made (a file
 * added before others, removed or renamed) and the journal was taken to where its files are now:
 * what it kept, and what it forgot, whose result lines stay in the output.
 */
export function describeRemap(remapped: RemapCounts): string {
  const kept = remapped.kept.done + remapped.kept.failed;
  const forgotten = remapped.forgotten.done + remapped.forgotten.failed;
  const keptFailed = remapped.kept.failed > 0 ? ` (${remapped.kept.failed} of them failed)` : '';
  const gone = forgotten === 0 ? '' : `; ${forgotten} ran on files no longer there (removed or renamed), whose result lines stay in the output and which no longer count`;
  return `the input folder changed since the journal was made (a file added before others, removed or renamed): resumed by file name: ${kept} files the journal ran are still there and are not run again${keptFailed}${gone}; new and renamed files run`;
}

export function reportRemap(remapped: RemapCounts, options: Pick<RunOptions, 'progress' | 'progressOut'>): void {
  const out = options.progressOut ?? process.stderr;
  if (progressMode(options.progress, out) !== 'none') out.write(`${describeRemap(remapped)}\n`);
}
