import path from 'node:path';
import { pickModel } from '../config/index.js';
import { GpupoolError } from '../errors/index.js';
import { devicesChoiceSource } from '../devices/index.js';
import { MeasuredNeedStore, Pool } from '../pool/index.js';
import { newSpanItem, newWorkItem, shownCode, unpackSpan, type WorkItem } from '../scheduler/index.js';
import type { SeqSet } from '../store/index.js';
import { openJournal, reconcileOutput, stateDirFor, type JobIdentity, type JobJournal } from '../store/index.js';
import { Admission } from './admission.js';
import { checkOutput, resolveOutput } from './check-output.js';
import { jobIdentity } from './job-identity.js';
import { JsonlSink } from './jsonl-sink.js';
import { checkDeviceSelection } from './check-device-selection.js';
import { nothingLeftSummary, nothingLeftToRun } from './nothing-left.js';
import { openingOutput, outputWriteError } from './output-write-error.js';
import { ProgressReporter } from './progress-reporter.js';
import { reportRemap } from './report-remap.js';
import type { RunOptions, RunSummary } from './run-options.js';
import { shardOwns } from './shard.js';
import { onAbort } from './on-abort.js';
import { InputDigestKeeper, inputReadError, openSource, readerThreadSetting, ThreadedJsonlSource, wantsReaderThread, type HeldBackLine } from './sources/index.js';
import { RunTally } from './run-tally.js';
import { deviceLimits, workerLimitsByDevice } from '../scheduler/index.js';
import { LineWriterThread, wantsWriterThread, writerThreadSetting } from './writer/index.js';

/**
 * Lines per span on the fast path: big enough that per-span work vanishes beside per-line work,
 * small enough that a batch limit cuts few spans and a failed batch unpacks few lines.
 */
const MAX_SPAN_LINES = 256;

/** A writer thread that runs; one that cannot start stops the run before any worker does. */
async function startedWriter(): Promise<LineWriterThread> {
  const writer = new LineWriterThread();
  try {
    await writer.started;
  } catch (err) {
    await writer.close();
    throw new GpupoolError('GPUPOOL_E_INTERNAL', `the JSONL writer thread did not start (${(err as Error).message}); GPUPOOL_WRITER_THREAD=off writes the output on the main thread`);
  }
  return writer;
}

/** Whether any seq in [start, end) is in the set. */
function overlaps(set: SeqSet, start: number, end: number): boolean {
  const next = set.nextPresent(start);
  return next !== -1 && next < end;
}

/**
 * `gpupool run`: streams the input through the pool into the output, journaled, resumable.
 * Memory is bounded by `maxPending`; the result is the summary (the caller picks the exit code).
 */
export async function runJob(options: RunOptions): Promise<RunSummary> {
  const startedAt = Date.now();
  const { config } = options;
  const model = pickModel(config, options.model);
  const readerThread = options.readerThread ?? wantsReaderThread(readerThreadSetting());
  const writerThread = options.writerThread ?? wantsWriterThread(writerThreadSetting());
  const output = resolveOutput(options.output);
  const stateDir = options.stateDir ?? stateDirFor(output);
  // By name, the listing holds only the shard's files: its positions and state are the shard's own.
  const shardByName = options.shard?.by === 'name' ? options.shard : undefined;
  const source = await openSource(options.input, options.costField ?? model.cost_field, { readerThread, skip: [output, stateDir], shardByName });
  let journal: JobJournal;
  let identity: JobIdentity;
  try {
    checkOutput(output, options.input, { dir: stateDir, given: options.stateDir !== undefined });
    identity = jobIdentity(config, model, source, output, options.shard, stateDir);
    // Before the journal may take this state (a kill between the two left a journal whose listing
    // was never kept); written by state, so another run on this state dir writes the same bytes.
    if (identity.remap !== undefined) source.keepListing?.(stateDir);
    journal = (options.openJournal ?? openJournal)({ stateDir, identity, fresh: options.fresh, renewUnused: true });
  } catch (err) {
    source.close?.(); // a folder's listing, a reader thread
    throw err;
  }
  let openedSink: JsonlSink | undefined;
  try {
    if (identity.remap !== undefined) source.dropOtherListings?.(stateDir);
    if (journal.remapped !== undefined) reportRemap(journal.remapped, options);
    const resume = await journal.resume();
    // Cut a group written but never committed; a file shorter than the journal says is refused.
    reconcileOutput(output, resume.outputBytes);
    const emptyInput = source.knownEmpty === true && resume.counts.done + resume.counts.failed === 0;
    if (emptyInput || (await nothingLeftToRun(journal, options.input, identity.description))) {
      await checkDeviceSelection(options.devices ?? model.devices, devicesChoiceSource(options.devices, model.name, config.file), options.providers);
      return nothingLeftSummary(model.name, resume.counts, startedAt, output, options, emptyInput ? 'the input holds no inputs' : undefined);
    }
    const digests = await InputDigestKeeper.open(source, journal, resume.counts);
    const learned = await journal.learnedLimits(model.name);
    const tally = new RunTally();
    let stopReason: RunSummary['outcome'] = 'complete';
    let stoppedBy: RunSummary['stoppedBy'];
    let writeError: Error | undefined;
    const drain = new AbortController();

    // Sized once the pool has started and its capacity is known.
    const admission = new Admission(options.maxPending ?? 16384);
    const writer = writerThread ? await startedWriter() : undefined;
    const sink = openingOutput(output, () => new JsonlSink({
      path: output,
      startBytes: resume.outputBytes,
      writer,
      commit: async (group) => {
        // The digest of what was read so far: it covers every line of the group.
        await digests.coverRead();
        await journal.commit(group);
      },
      onItems: (ok, device, n, failed) => {
        tally.count(ok, device, n);
        if (failed) tally.countFailure(shownCode(failed.failure), failed.id);
        if (!ok && options.onError === 'stop' && stopReason === 'complete') {
          stopReason = 'stopped';
          if (failed) stoppedBy = { id: failed.id, code: failed.failure.code, shownCode: shownCode(failed.failure), message: failed.failure.message };
          drain.abort();
        }
      },
      onCommitted: (n) => admission.release(n),
      onError: (err) => {
        writeError = err;
        drain.abort();
      },
    }), () => writer?.close().catch(() => undefined));
    openedSink = sink;

    const pool = await Pool.start({
      config,
      models: [model.name],
      devices: options.devices,
      logDir: path.join(stateDir, 'logs'),
      echo: options.verbose ? (options.progressOut ?? process.stderr) : undefined,
      sinkFor: () => sink,
      providers: options.providers,
      learnedLimit: (_m, key) => learned[key]?.limit,
      onEvent: options.onEvent,
      onStray: options.onStray,
      onAuditSample: options.onAuditSample,
      measuredNeeds: MeasuredNeedStore.fromEnv(),
      // Ctrl-C while models load: nothing is in flight, so a drain is a stop.
      startSignal: options.drainSignal,
    });
    const scheduler = pool.scheduler(model.name);
    const capacity = pool.workers.reduce((n, w) => n + w.limit.max * w.maxInflight, 0);
    admission.max = options.maxPending ?? Math.max(16384, capacity * 4);
    // A group is committed at a quarter of the window, so reading never waits on the flush timer.
    sink.flushItems = Math.max(1, Math.floor(admission.max / 4));
    const progress = new ProgressReporter(options.progress, options.progressOut ?? process.stderr, pool, tally, source, options.shard?.count);
    progress.start();

    onAbort(options.drainSignal, () => {
      if (stopReason === 'complete') stopReason = 'interrupted';
      drain.abort();
    });
    const killed = new Promise<GpupoolError>((resolve) =>
      onAbort(options.killSignal, () => {
        stopReason = 'interrupted';
        drain.abort();
        void pool.destroy();
        resolve(new GpupoolError('GPUPOOL_E_INTERRUPTED', 'stopped at once by a second interrupt; run the same command again to resume'));
      }),
    );
    drain.signal.addEventListener('abort', () => {
      admission.wake();
      // A read waiting for input ends now: stdin from a silent producer would otherwise hold the
      // run open until the producer wrote again or closed its end.
      source.close?.();
      // Nothing new starts: queued items, read but not sent, are left for the resume (they
      // are not journaled). Without this, input read in full before Ctrl-C would all still run.
      scheduler.takeQueued();
    });
    const fatal = pool.onFatal().then((err) => {
      drain.abort();
      return err;
    });

    // Read → admit → schedule. Items done in an earlier run are skipped before admission.
    // Spans (runs of plain lines, one item each through the scheduler) unless batches are
    // bounded by cost (which needs each line's cost) or the run is a shard (not consecutive).
    const spanLines = model.batch.max_cost === undefined && !options.shard ? Math.min(MAX_SPAN_LINES, model.batch.max) : 0;
    const records = spanLines > 1 && source.spanBatches ? source.spanBatches(spanLines) : source.recordBatches();
    /** Counts an item an earlier run finished (done or failed); false for one still to do. */
    const skipSettled = (seq: number): boolean => {
      if (resume.done.has(seq)) tally.resumed++;
      else if (resume.failed.has(seq)) {
        tally.resumed++;
        tally.resumedFailed++;
      } else return false;
      return true;
    };
    const admit = (item: WorkItem) => {
      const wait = admission.acquire(item.count);
      scheduler.push(item);
      tally.read = item.seq + item.count;
      return wait;
    };
    const reading = (async () => {
      for await (const batch of records) {
        for (const rec of batch) {
          if (drain.signal.aborted) break;
          if ('offsets' in rec) {
            const span = newSpanItem(rec.seq, rec.id, rec.json, rec.offsets);
            tally.inputs += span.count;
            const end = rec.seq + span.count;
            if (!overlaps(resume.done, rec.seq, end) && !overlaps(resume.failed, rec.seq, end)) {
              const wait = admit(span);
              if (wait) await wait;
              continue;
            }
            for (const item of unpackSpan(span)) {
              if (drain.signal.aborted) break; // as the outer loop: nothing is admitted after a stop
              if (!skipSettled(item.seq)) {
                const wait = admit(item);
                if (wait) await wait;
              }
            }
            continue;
          }
          if (options.shard && !shardByName && !shardOwns(options.shard, rec.seq)) continue;
          tally.inputs++;
          if (skipSettled(rec.seq)) continue;
          if ('parseError' in rec) {
            const wait = admission.acquire();
            sink.failed(newWorkItem(rec.seq, rec.id, 'null'), { code: 'GPUPOOL_E_INPUT_PARSE', message: rec.parseError }, undefined);
            tally.read = rec.seq + 1;
            if (wait) await wait;
          } else {
            const wait = admit(newWorkItem(rec.seq, rec.id, rec.json, rec.cost));
            if (wait) await wait;
          }
        }
        if (drain.signal.aborted) break;
      }
      if (!drain.signal.aborted) tally.readAll = true;
      // Read to its end: what the journal needs to resume the file once lines are added to it.
      await digests.afterRead();
    })();
    // A read error (permissions, I/O) stops reading like a drain: what was admitted finishes and
    // is journaled, the pool closes, and the error is raised below. Without this the workers
    // outlived the failed run and kept the process alive.
    let readError: unknown;
    await reading.catch((err: unknown) => {
      readError = err;
      if (stopReason === 'complete') stopReason = 'stopped';
      drain.abort();
    });

    if (drain.signal.aborted) scheduler.takeQueued(); // not started: not journaled, so the next run does them
    scheduler.endInput();
    const outcome = await Promise.race([scheduler.whenIdle().then(() => undefined), fatal, killed]);
    progress.stop();
    await sink.close().catch((err) => {
      writeError ??= err as Error;
    });
    // Only where the read reached it: a run stopped before (Ctrl-C, --on-error stop) says nothing of it.
    const heldBack = stopReason === 'complete' ? shardsLine(source.heldBack, options.shard) : undefined;
    const summary = { ...tally.summary(model.name, pool, stopReason, { readerThread: source instanceof ThreadedJsonlSource, writerThread }), ...(stoppedBy && { stoppedBy }), ...(heldBack && { heldBack }), ...(journal.remapped && { remapped: journal.remapped }) };
    await (outcome || writeError ? pool.destroy() : pool.close());
    // After the drain: batches that finished in it taught the limits too.
    for (const [deviceKey, limit] of Object.entries(deviceLimits(workerLimitsByDevice(pool.workers)))) await journal.saveLearnedLimit(model.name, deviceKey, limit);
    if (writeError) throw outputWriteError(writeError, output);
    if (readError !== undefined) throw inputReadError(readError, source.description) ?? readError;
    if (outcome && outcome.code !== 'GPUPOOL_E_INTERRUPTED') throw outcome;
    // A shard's journal is its own (its fingerprint names the shard): finished with its share of the inputs.
    if (stopReason === 'complete') await journal.markFinished(tally.inputs);
    progress.summary(summary);
    return summary;
  } finally {
    // Already closed unless the run failed on its way (a worker that did not start): its writer
    // thread must not outlive it. Nothing was buffered then, and an error here would hide the first.
    await openedSink?.close().catch(() => undefined);
    source.close?.();
    await journal.close();
  }
}

/** A held-back line, where it is the shard's own (as the run's items are picked): another shard's is that shard's to say. */
function shardsLine(line: HeldBackLine | undefined, shard: RunOptions['shard']): HeldBackLine | undefined {
  if (line === undefined || shard === undefined || line.line === undefined) return line;
  return shardOwns(shard, line.line - 1) ? line : undefined;
}
