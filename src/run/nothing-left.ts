import fs from 'node:fs';
import { heldBackNow } from './input-drift.js';
import { formatRunSummary, progressMode } from './progress-reporter.js';
import type { RunOptions, RunSummary } from './run-options.js';
import { fileSizeAndState, INPUT_DIGEST_META, stateBytes, type InputDigest } from './sources/index.js';
import type { JobJournal, JournalCounts } from '../store/index.js';

/**
 * Whether a job has nothing left to run, known before any model loads: its journal says it
 * finished, and was found as it was (`same`: the input's state is part of the fingerprint, so the
 * file or folder is unchanged). Not for stdin, which must be read; nor for a JSONL file whose
 * last line waits (its run reports it), or that changed since it was opened, or whose journal
 * holds no digest of the whole file as it is (an earlier gpupool's: the run that reads the file
 * through records it, and lines added later can only be resumed with it); nor for a journal of
 * an earlier gpupool found by its old fingerprint. A cron that runs the same command again then
 * costs no model load. The devices are still checked (checkDeviceSelection); the model's command
 * and batch settings are not: nothing runs.
 */
export async function nothingLeftToRun(journal: JobJournal, input: string, description: Record<string, unknown>): Promise<boolean> {
  if (input === '-' || journal.openedAs !== 'same') return false;
  const status = await journal.status({ failureLimit: 0 });
  if (!status.finished) return false;
  const identity = description.inputIdentity;
  if (typeof identity === 'string' && identity.startsWith('file:')) {
    const digest = status.meta[INPUT_DIGEST_META] as Partial<InputDigest> | undefined;
    if (!wholeFileDigest(digest, description.inputState)) return false;
    // As it is now, not as it was opened: a producer may have finished a waiting last line since.
    if (!stateIs(identity.slice('file:'.length), description.inputState)) return false;
  }
  return heldBackNow(description) === undefined;
}

/** A digest of every byte of the file in `state`, read in one piece by one run. */
function wholeFileDigest(digest: Partial<InputDigest> | undefined, state: unknown): boolean {
  if (digest === undefined || typeof state !== 'string' || digest.state !== state || digest.changedWhileRead !== undefined) return false;
  return digest.bytes === undefined || digest.bytes === stateBytes(state);
}

function stateIs(file: string, state: unknown): boolean {
  try {
    return fileSizeAndState(file).state === state;
  } catch {
    return false;
  }
}

/**
 * The summary of such a run: every input done (or failed) before, no worker started. `why`:
 * what its last line says (a finished job, or an input that holds none).
 */
export function nothingLeftSummary(
  model: string,
  counts: JournalCounts,
  startedAt: number,
  output: string,
  options: Pick<RunOptions, 'progress' | 'progressOut'>,
  why = 'the journal says the job finished, and its input is as it was then',
): RunSummary {
  // As a run would leave it: an output removed since is there again (with nothing in it to cut, the journal allowed that).
  if (!fs.existsSync(output)) fs.closeSync(fs.openSync(output, 'a'));
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
    workerBatchLimits: {},
    outcome: 'complete',
    peakRssBytes: process.memoryUsage().rss,
    readerThread: false,
    writerThread: false,
    nothingToRun: true,
  };
  const out = options.progressOut ?? process.stderr;
  if (progressMode(options.progress, out) !== 'none') out.write(`${formatRunSummary(summary)}  nothing left to run: ${why}; no model was loaded\n`);
  return summary;
}
