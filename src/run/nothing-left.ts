import { heldBackNow } from './input-drift.js';
import { formatRunSummary } from './progress-reporter.js';
import type { RunOptions, RunSummary } from './run-options.js';
import type { JobJournal, JournalCounts } from '../store/index.js';

/**
 * Whether a job has nothing left to run, known before any model loads: its journal says it
 * finished, and was found as it was (`same`: the input's state is part of the fingerprint, so the
 * file or folder is unchanged). Not for stdin, which must be read, nor for a JSONL file whose
 * last line waits (its run reports it), nor for a journal of an earlier gpupool, whose state may
 * not have been recorded. A cron that runs the same command again then costs no model load.
 */
export async function nothingLeftToRun(journal: JobJournal, input: string, description: Record<string, unknown>): Promise<boolean> {
  if (input === '-' || journal.openedAs !== 'same') return false;
  if (!(await journal.status()).finished) return false;
  return heldBackNow(description) === undefined;
}

/** The summary of such a run: every input done (or failed) before, no worker started. */
export function nothingLeftSummary(model: string, counts: JournalCounts, startedAt: number, options: Pick<RunOptions, 'progress' | 'progressOut'>): RunSummary {
  const summary: RunSummary = {
    model,
    done: 0,
    failed: 0,
    resumed: counts.done + counts.failed,
    resumedFailed: counts.failed,
    wallSeconds: (Date.now() - startedAt) / 1000,
    itemsPerSecond: 0,
    devices: [],
    workers: 0,
    workerRestarts: 0,
    batchLimits: {},
    outcome: 'complete',
    peakRssBytes: process.memoryUsage().rss,
    readerThread: false,
    writerThread: false,
  };
  const out = options.progressOut ?? process.stderr;
  const mode = options.progress ?? ((out as NodeJS.WriteStream).isTTY ? 'tty' : 'plain');
  if (mode !== 'none') out.write(`${formatRunSummary(summary)}  nothing left to run: the journal says the job finished, and its input is as it was then; no model was loaded\n`);
  return summary;
}
