import fs from 'node:fs';
import { GpupoolError } from '../errors/index.js';
import type { AllowedRoots } from './allowed-roots.js';
import { JobFolder, newJobId, type JobInput, type JobSpec } from './job-folder.js';
import { ServeJob } from './serve-job.js';
import type { ServedModel } from './served-model.js';

/** `POST /v1/jobs`, after schema validation: exactly one of `inputs`, `ndjson` and `path`. */
export interface CreateJobRequest {
  readonly model?: string;
  /** Inline inputs, one JSON value each. */
  readonly inputs?: readonly unknown[];
  /** Inline inputs as JSONL text (an `application/x-ndjson` body). */
  readonly ndjson?: string;
  /** A server-side JSONL file or folder inside the allowed roots. */
  readonly path?: string;
}

export interface JobManagerOptions {
  /** `<state dir>/jobs` */
  readonly root: string;
  readonly roots: AllowedRoots;
  /** The `kind: process` models, by name. */
  readonly models: ReadonlyMap<string, ServedModel>;
  /** Every model of the config, for messages (`kind: http` ones take no jobs). */
  readonly allModels: readonly string[];
  readonly onJobFailed?: (job: ServeJob) => void;
}

/**
 * The server's batch jobs: created from a request, kept on disk, run one at a time per model
 * (in order of creation, so online requests keep their share of the workers), and found
 * again by the next server, which resumes those not final.
 */
export class JobManager {
  private readonly jobs = new Map<string, ServeJob>();
  private readonly running = new Map<string, Promise<void>>();
  private closing = false;

  constructor(private readonly options: JobManagerOptions) {}

  /** Loads the jobs a previous server left; those not final are queued again. */
  recover(): void {
    const { models, allModels } = this.options;
    for (const folder of JobFolder.list(this.options.root)) {
      const spec = folder.readSpec();
      if (!spec) continue;
      const job = new ServeJob(folder, spec, folder.readEnd());
      // Kept as it is for a server that runs its model (the same --state-dir with another config): said, not failed.
      if (!job.final && !models.has(spec.model)) {
        job.waiting = `model "${spec.model}" is not one this server runs (${[...models.keys()].join(', ') || 'none'}${allModels.includes(spec.model) ? `; here it is \`kind: http\`` : ''}): the job stays queued for a server started with a config that has it; DELETE cancels it`;
      }
      this.jobs.set(spec.id, job);
    }
  }

  create(request: CreateJobRequest): ServeJob {
    const model = this.pickModel(request.model);
    const given = (['inputs', 'ndjson', 'path'] as const).filter((k) => request[k] !== undefined);
    if (given.length !== 1) {
      throw new GpupoolError('GPUPOOL_E_BAD_REQUEST', `a job takes its inputs from exactly one of "inputs" (a JSON array), a JSONL body (Content-Type: application/x-ndjson) or "path" (a server-side file or folder); got ${given.length === 0 ? 'none' : given.join(' and ')}`);
    }
    const id = newJobId();
    let input: JobInput;
    let inline: string | undefined;
    if (request.path !== undefined) {
      const real = this.options.roots.resolve(request.path);
      const stat = fs.statSync(real);
      if (!stat.isFile() && !stat.isDirectory()) throw new GpupoolError('GPUPOOL_E_BAD_REQUEST', `"path" must name a JSONL file or a folder, got "${request.path}" (neither)`);
      input = { kind: 'path', path: real, type: stat.isDirectory() ? 'directory' : 'jsonl' };
    } else if (request.inputs !== undefined) {
      if (request.inputs.length === 0) throw new GpupoolError('GPUPOOL_E_BAD_REQUEST', '"inputs" is empty: a job needs at least one input');
      inline = request.inputs.map((v) => `${JSON.stringify(v) ?? 'null'}\n`).join('');
      input = { kind: 'inline', items: request.inputs.length };
    } else {
      inline = request.ndjson!.endsWith('\n') || request.ndjson === '' ? request.ndjson! : `${request.ndjson}\n`;
      // Blank lines are not inputs (as in `gpupool run`).
      const items = inline.split('\n').filter((l) => l.trim().length > 0).length;
      if (items === 0) throw new GpupoolError('GPUPOOL_E_BAD_REQUEST', 'the JSONL body holds no input lines: a job needs at least one input');
      input = { kind: 'inline', items };
    }
    const spec: JobSpec = { id, model: model.name, createdAt: Date.now(), input };
    const job = new ServeJob(JobFolder.create(this.options.root, spec, inline), spec);
    this.jobs.set(id, job);
    this.pump();
    return job;
  }

  get(id: string): ServeJob {
    const job = this.jobs.get(id);
    if (!job) throw new GpupoolError('GPUPOOL_E_NOT_FOUND', `no job "${id}" on this server; GET /v1/jobs lists them`);
    return job;
  }

  list(): ServeJob[] {
    return [...this.jobs.values()];
  }

  /** Resolves once the job is final: reading has stopped and what was answered is committed. */
  async cancel(id: string): Promise<ServeJob> {
    const job = this.get(id);
    job.cancel();
    while (!job.final) await job.changed();
    return job;
  }

  /** Starts the next queued job of every model that has a running scheduler and no running job. */
  pump(): void {
    if (this.closing) return;
    for (const job of this.jobs.values()) {
      if (job.state !== 'queued' || this.running.has(job.spec.model)) continue;
      const served = this.options.models.get(job.spec.model);
      if (!served?.scheduler) continue;
      if (served.down) {
        job.abort(new GpupoolError('GPUPOOL_E_CRASH_LOOP', `model "${served.name}" is down: every worker gave up`));
        continue;
      }
      const capacity = served.workers.reduce((n, w) => n + w.limit.max * w.maxInflight, 0);
      const run = job.run({ scheduler: served.scheduler, model: served.config, window: Math.max(64, 2 * capacity), roots: this.options.roots }).finally(() => {
        this.running.delete(job.spec.model);
        if (job.state === 'failed') this.options.onJobFailed?.(job);
        this.pump();
      });
      this.running.set(job.spec.model, run);
    }
  }

  /** Every worker of `model` gave up: its running and queued jobs fail. */
  modelDown(model: string, err: GpupoolError): void {
    for (const job of this.jobs.values()) if (job.spec.model === model) job.abort(err);
  }

  /** Commits what the running jobs have answered and leaves them to the next server. */
  async close(): Promise<void> {
    this.closing = true;
    for (const job of this.jobs.values()) job.shutdown();
    await Promise.all(this.running.values());
    for (const job of this.jobs.values()) job.release();
  }

  private pickModel(name: string | undefined): ServedModel {
    const { models, allModels } = this.options;
    if (name === undefined) {
      if (models.size === 1) return [...models.values()][0];
      throw new GpupoolError('GPUPOOL_E_MODEL_REQUIRED', `this server runs several models (${[...models.keys()].join(', ')}): name one in "model" (or ?model= for a JSONL body)`);
    }
    const served = models.get(name);
    if (served) return served;
    if (allModels.includes(name)) throw new GpupoolError('GPUPOOL_E_BAD_REQUEST', `model "${name}" is \`kind: http\` (an off-the-shelf server): jobs run \`kind: process\` models (${[...models.keys()].join(', ') || 'none here'})`);
    throw new GpupoolError('GPUPOOL_E_UNKNOWN_MODEL', `unknown model "${name}"; this server runs: ${allModels.join(', ')}`);
  }
}
