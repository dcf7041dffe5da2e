import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { makeDirectories } from '../store/make-directories.js';

/** Where a job's inputs come from. Inline inputs are copied into the job's folder, so the job outlives the request. */
export type JobInput = { readonly kind: 'inline'; readonly items: number } | { readonly kind: 'path'; readonly path: string; readonly type: 'jsonl' | 'directory' };

/** What a job is; written once, when it is created. */
export interface JobSpec {
  readonly id: string;
  readonly model: string;
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
  readonly input: JobInput;
}

export type JobState = 'queued' | 'running' | 'done' | 'cancelled' | 'failed';

/** How a job ended; its presence makes the job final (not resumed by the next server). */
export interface JobEnd {
  readonly state: 'done' | 'cancelled' | 'failed';
  readonly done: number;
  readonly failed: number;
  readonly total: number | null;
  /** Length of `results.jsonl`: every byte of it is a committed result line. */
  readonly resultBytes: number;
  readonly startedAt: number | null;
  readonly finishedAt: number;
  readonly error?: { readonly code: string; readonly message: string };
}

/** Sortable by creation time, unguessable, and safe as a folder name. */
export const JOB_ID_PATTERN = '^[0-9a-z]{6,12}-[0-9a-f]{12}$';

export function newJobId(): string {
  return `${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`;
}

/**
 * A job's folder under `<state dir>/jobs/<id>/`: `job.json` (the spec), `input.jsonl`
 * (inline inputs), `results.jsonl`, the job's journal (`journal.sqlite`, lock) and, once
 * final, `end.json`.
 */
export class JobFolder {
  constructor(readonly dir: string) {}

  get id(): string {
    return path.basename(this.dir);
  }

  get inputFile(): string {
    return path.join(this.dir, 'input.jsonl');
  }

  get resultsFile(): string {
    return path.join(this.dir, 'results.jsonl');
  }

  /** Creates the folder whole or not at all: written under a temporary name, then renamed. */
  static create(jobsRoot: string, spec: JobSpec, inlineInputs?: string): JobFolder {
    makeDirectories(jobsRoot);
    const tmp = path.join(jobsRoot, `.new-${spec.id}`);
    fs.mkdirSync(tmp);
    try {
      if (inlineInputs !== undefined) fs.writeFileSync(path.join(tmp, 'input.jsonl'), inlineInputs);
      fs.writeFileSync(path.join(tmp, 'job.json'), JSON.stringify(spec));
      fs.renameSync(tmp, path.join(jobsRoot, spec.id));
    } catch (err) {
      fs.rmSync(tmp, { recursive: true, force: true });
      throw err;
    }
    return new JobFolder(path.join(jobsRoot, spec.id));
  }

  /** The jobs under `jobsRoot`, oldest first; half-created folders are removed. */
  static list(jobsRoot: string): JobFolder[] {
    let names: string[];
    try {
      names = fs.readdirSync(jobsRoot);
    } catch {
      return [];
    }
    const ids = new RegExp(JOB_ID_PATTERN);
    for (const n of names) if (n.startsWith('.new-')) fs.rmSync(path.join(jobsRoot, n), { recursive: true, force: true });
    return names.filter((n) => ids.test(n)).sort().map((n) => new JobFolder(path.join(jobsRoot, n)));
  }

  readSpec(): JobSpec | undefined {
    return readJson<JobSpec>(path.join(this.dir, 'job.json'));
  }

  readEnd(): JobEnd | undefined {
    return readJson<JobEnd>(path.join(this.dir, 'end.json'));
  }

  writeEnd(end: JobEnd): void {
    const file = path.join(this.dir, 'end.json');
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(end));
    fs.renameSync(`${file}.tmp`, file);
  }
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}
