import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type { ModelConfig } from '../config/index.js';
import { GpupoolError, isGpupoolError } from '../errors/index.js';
import { Admission, grownFrom, InputDigestKeeper, inputReadError, JsonlSink } from '../run/index.js';
import { newWorkItem, type ItemFailure, type ModelScheduler, type WorkItem } from '../scheduler/index.js';
import { classifyWriteError, openJournal, readJournalStatus, reconcileOutput, type JobIdentity, type SqliteJournal } from '../store/index.js';
import type { AllowedRoots } from './allowed-roots.js';
import type { JobEnd, JobFolder, JobSpec, JobState } from './job-folder.js';
import { openJobSource, type JobSource } from './job-source.js';
import type { ItemOwner } from './item-owner.js';

/** What a job needs of the server to run. */
export interface JobRunContext {
  readonly scheduler: ModelScheduler;
  readonly model: ModelConfig;
  /** Items read but not yet committed; bounds the job's share of the model's queue. */
  readonly window: number;
  readonly roots: AllowedRoots;
}

/** `GET /v1/jobs/{id}`. */
export interface JobView {
  readonly id: string;
  readonly model: string;
  readonly state: JobState;
  readonly input: JobSpec['input'];
  readonly createdAt: string;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  /** Inputs in the job; null until the whole input has been read (a server-side file). */
  readonly total: number | null;
  readonly done: number;
  readonly failed: number;
  /** (done + failed) / total, 0..1; null while the total is unknown. */
  readonly progress: number | null;
  readonly error: { readonly code: string; readonly message: string } | null;
  /** Why a queued job does not start on this server (its model is not one it runs); null otherwise. */
  readonly waiting: string | null;
  readonly results: string;
}

type StopReason = 'cancel' | 'shutdown' | GpupoolError;

/**
 * One batch job of the server: `gpupool run` over the shared pool. Inputs stream from its
 * source through a bounded window into the model's scheduler; results go to the job's
 * `results.jsonl` in groups, each committed to the job's journal, so a server killed at any
 * moment resumes the job where it stopped with every input in the results exactly once.
 */
export class ServeJob implements ItemOwner {
  state: JobState;
  done = 0;
  failed = 0;
  total: number | null;
  /** Bytes of `results.jsonl` that hold committed lines: what a results stream may send. */
  committedBytes = 0;
  startedAt: number | null = null;
  finishedAt: number | null = null;
  error: { code: string; message: string } | null = null;
  /** Set when the server closes: results streams end with what is committed. */
  released = false;
  /** Set by the server that found the job queued for a model it does not run (`JobManager.recover`). */
  waiting: string | null = null;

  private outstanding = 0;
  private readingDone = false;
  private stop?: StopReason;
  private sink?: JsonlSink;
  private admission?: Admission;
  private accepting = false;
  private waiters: (() => void)[] = [];
  private idle?: () => void;

  constructor(
    readonly folder: JobFolder,
    readonly spec: JobSpec,
    end?: JobEnd,
  ) {
    this.total = spec.input.kind === 'inline' ? spec.input.items : null;
    if (end) {
      this.state = end.state;
      this.done = end.done;
      this.failed = end.failed;
      this.total = end.total;
      this.committedBytes = end.resultBytes;
      this.startedAt = end.startedAt;
      this.finishedAt = end.finishedAt;
      this.error = end.error ?? null;
    } else {
      this.state = 'queued';
      // A job an earlier server left unfinished: what it committed is shown and served from the start.
      this.showCommitted();
    }
  }

  get id(): string {
    return this.spec.id;
  }

  get final(): boolean {
    return this.state === 'done' || this.state === 'cancelled' || this.state === 'failed';
  }

  view(): JobView {
    const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
    const total = this.total;
    return {
      id: this.id,
      model: this.spec.model,
      state: this.state,
      input: this.spec.input,
      createdAt: new Date(this.spec.createdAt).toISOString(),
      startedAt: iso(this.startedAt),
      finishedAt: iso(this.finishedAt),
      total,
      done: this.done,
      failed: this.failed,
      progress: total === null ? null : total === 0 ? 1 : Math.min(1, (this.done + this.failed) / total),
      error: this.error,
      waiting: this.state === 'queued' ? this.waiting : null,
      results: `/v1/jobs/${this.id}/results`,
    };
  }

  /** Resolves at the next commit or change of state. */
  changed(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** `DELETE`: stop reading now; results already committed stay. Answers still in flight are dropped. */
  cancel(): void {
    if (this.final) return;
    if (this.state === 'queued') {
      this.end('cancelled');
      return;
    }
    this.halt('cancel');
  }

  /** Server shutdown: commit what is answered and leave the job to the next server. */
  shutdown(): void {
    if (this.state === 'running') this.halt('shutdown');
  }

  /** The server is closing: results streams end with what is committed. */
  release(): void {
    this.released = true;
    this.notify();
  }

  /** The job cannot go on (its model is down): it ends failed with `err`. */
  abort(err: GpupoolError): void {
    if (this.state === 'running') this.halt(err);
    else if (this.state === 'queued') {
      this.error = { code: err.code, message: err.message };
      this.end('failed');
    }
  }

  itemDone(item: WorkItem, outputJson: string, device: string): void {
    if (!this.accepting) return;
    this.done++;
    this.sink!.doneJson(item, outputJson, device);
    this.answered();
  }

  itemFailed(item: WorkItem, failure: ItemFailure, device: string | undefined): void {
    if (!this.accepting) return;
    this.failed++;
    this.sink!.failed(item, failure, device);
    this.answered();
  }

  async run(ctx: JobRunContext): Promise<void> {
    if (this.state !== 'queued') return;
    this.state = 'running';
    this.startedAt ??= Date.now();
    this.notify();
    let journal: SqliteJournal | undefined;
    let source: JobSource | undefined;
    let resumed = false;
    try {
      // The source first: a server-side JSONL file's state (size, modification time) or a folder's listing is part of the job's identity.
      source = await openJobSource(this.spec, this.folder, ctx.model.cost_field, ctx.roots);
      journal = openJournal({ stateDir: this.folder.dir, identity: identity(this.spec, ctx.model, source) });
      const resume = journal.resume();
      const digests = await InputDigestKeeper.open(source, journal, resume.counts);
      reconcileOutput(this.folder.resultsFile, resume.outputBytes);
      resumed = true;
      this.done = resume.counts.done;
      this.failed = resume.counts.failed;
      this.committedBytes = resume.outputBytes;
      const opened = journal;
      const admission = new Admission(ctx.window);
      this.admission = admission;
      this.sink = new JsonlSink({
        path: this.folder.resultsFile,
        startBytes: resume.outputBytes,
        flushItems: Math.max(1, Math.floor(ctx.window / 4)),
        commit: (group) => {
          // The digest of what was read so far: it covers every line of the group (SQLite: both synchronous).
          void digests.coverRead();
          opened.commit(group);
          this.committedBytes = group.outputBytes;
          this.notify();
        },
        onCommitted: (n) => admission.release(n),
        onError: (err) => this.halt(writeFailure(err, this.folder.resultsFile)),
      });
      this.accepting = true;
      let read = 0; // inputs read (blank lines are not inputs, so not seq + 1)
      for await (const rec of source.records()) {
        if (this.stop) break;
        read++;
        if (resume.done.has(rec.seq) || resume.failed.has(rec.seq)) continue;
        const wait = admission.acquire();
        if ('parseError' in rec) {
          this.failed++;
          this.sink.failed(newWorkItem(rec.seq, rec.id, 'null'), { code: 'GPUPOOL_E_INPUT_PARSE', message: rec.parseError }, undefined);
        } else if ('denied' in rec) {
          this.failed++;
          this.sink.failed(newWorkItem(rec.seq, rec.id, 'null'), { code: 'GPUPOOL_E_PATH_DENIED', message: rec.denied }, undefined);
        } else {
          this.outstanding++;
          ctx.scheduler.push(newWorkItem(rec.seq, rec.id, rec.json, rec.cost, this));
        }
        if (wait) await wait;
      }
      this.readingDone = true;
      await digests.afterRead();
      if (!this.stop) {
        this.total = read;
        journal.setMeta('total', read);
        this.notify();
        await this.allAnswered();
      }
      this.accepting = false;
      const closeError = await this.sink.close().then(
        () => undefined,
        (err: unknown) => writeFailure(err, this.folder.resultsFile),
      );
      const stop = this.stop instanceof GpupoolError ? this.stop : (closeError ?? this.stop);
      if (stop === 'shutdown') {
        this.state = 'queued'; // the next server resumes it
      } else if (stop instanceof GpupoolError) {
        this.error = { code: stop.code, message: stop.message };
        this.end('failed');
      } else if (stop === 'cancel') {
        this.end('cancelled');
      } else {
        journal.markFinished(read);
        this.end('done');
      }
    } catch (err) {
      this.accepting = false;
      await this.sink?.close().catch(() => undefined);
      const e = this.stop instanceof GpupoolError ? this.stop : isGpupoolError(err) ? err : (inputReadError(err, `of job ${this.id}`) ?? new GpupoolError('GPUPOOL_E_INTERNAL', (err as Error)?.stack ?? String(err)));
      this.error = { code: e.code, message: e.message };
      if (!resumed) this.showCommitted();
      this.end('failed');
    } finally {
      source?.close?.();
      journal?.close();
    }
  }

  /**
   * For a job that failed before its journal was taken up (an input changed or gone while the
   * job was stopped), or one an earlier server left queued or running: what earlier servers
   * committed stays served, as its journal counts it.
   */
  private showCommitted(): void {
    try {
      const committed = readJournalStatus(this.folder.dir);
      if (committed === null) return;
      // No more than the results file holds: one cut while the server was stopped is not read past its end.
      const onDisk = fs.statSync(this.folder.resultsFile, { throwIfNoEntry: false })?.size ?? 0;
      if (committed.outputBytes > onDisk) return;
      this.done = committed.counts.done;
      this.failed = committed.counts.failed;
      this.committedBytes = committed.outputBytes;
    } catch {
      // A journal that cannot be read shows nothing: the job's own error says why it failed.
    }
  }

  private answered(): void {
    this.outstanding--;
    if (this.readingDone && this.outstanding === 0) this.idle?.();
  }

  private allAnswered(): Promise<void> {
    if (this.outstanding === 0 || this.stop) return Promise.resolve();
    return new Promise((resolve) => (this.idle = resolve));
  }

  private halt(reason: StopReason): void {
    this.stop ??= reason;
    this.admission?.wake();
    this.idle?.();
  }

  private end(state: 'done' | 'cancelled' | 'failed'): void {
    this.state = state;
    this.finishedAt = Date.now();
    this.folder.writeEnd({
      state,
      done: this.done,
      failed: this.failed,
      total: this.total,
      resultBytes: this.committedBytes,
      startedAt: this.startedAt,
      finishedAt: this.finishedAt,
      ...(this.error ? { error: this.error } : {}),
    });
    this.notify();
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

/**
 * Same job, same model command, same input state → the journal may be resumed; another command is
 * refused (its results would mix), and so is a server-side JSONL file edited since, or a folder
 * whose files changed (items are resumed by position). A journal made before the state was part
 * of it is still this job's, and so is one of a folder that only gained files after its last.
 */
function identity(spec: JobSpec, model: ModelConfig, source: JobSource): JobIdentity {
  const hash = (parts: unknown[]) => createHash('sha256').update(JSON.stringify(parts)).digest('hex');
  const withState = (state: string | null) => hash(['gpupool-serve-job/2', spec.id, model.name, model.command, state]);
  const former = [hash(['gpupool-serve-job/1', spec.id, model.name, model.command]), ...(source.formerlyStateless ? [withState(null)] : [])];
  return {
    fingerprint: withState(source.state ?? null),
    description: { job: spec.id, model: model.name, command: model.command, input: spec.input, inputState: source.state },
    compared: ['job', 'model', 'command', 'inputState'],
    formerFingerprints: former,
    continues: grownFrom(source, withState),
    mismatchRemedy: 'its results so far stay served; to run the input as it is now, submit it again as a new job',
  };
}

/** A failed write of the results as a registry error (a full disk is GPUPOOL_E_DISK_FULL). */
function writeFailure(err: unknown, file: string): GpupoolError {
  const e = classifyWriteError(err, file);
  return isGpupoolError(e) ? e : new GpupoolError('GPUPOOL_E_INTERNAL', `writing ${file}: ${(e as Error)?.message ?? String(e)}`);
}
