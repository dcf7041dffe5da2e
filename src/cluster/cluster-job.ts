import type { Redis } from 'ioredis';
import { CLUSTER_SCHEMA, type ClusterKeys } from './cluster-keys.js';

/** What agents and `gpupool status` know of a job: written by its submitter to `<prefix>:jobs`. */
export interface ClusterJob {
  readonly id: string;
  readonly model: string;
  /** Queue schema of the submitter that wrote it: agents leave other schemas alone. */
  readonly schema: number;
  readonly chunkSize: number;
  /** How long a chunk's lock outlives an agent that stopped renewing it (killed). */
  readonly lockDurationMs: number;
  /** Where results are journaled: the submitter's state dir (`sqlite`) or Redis. */
  readonly journal: 'sqlite' | 'redis';
  /** The SQLite journal's folder on the submitter's host (absent for a Redis journal, and from submitters before it was kept). */
  readonly stateDir?: string;
  /** The job as `gpupool run` describes it: model, command, config, input, output. */
  readonly description: Record<string, unknown>;
  readonly submitter: { readonly host: string; readonly pid: number };
  readonly createdAt: number;
  /**
   * The submission generation whose chunks are this job's now (see job-generation.ts); absent
   * from records of submitters before it was kept.
   */
  readonly generation?: string;
}

export async function registerJob(redis: Redis, keys: ClusterKeys, job: ClusterJob): Promise<void> {
  await redis.hset(keys.jobs, job.id, JSON.stringify(job));
}

/** The job registered under `id`: undefined when none is, `unreadable` when its record does not parse as this version's. */
export async function readJob(redis: Redis, keys: ClusterKeys, id: string): Promise<ClusterJob | 'unreadable' | undefined> {
  const text = await redis.hget(keys.jobs, id);
  if (text === null) return undefined;
  return parseJob(text) ?? 'unreadable';
}

export async function unregisterJob(redis: Redis, keys: ClusterKeys, id: string): Promise<void> {
  await redis.hdel(keys.jobs, id);
}

/** Every registered job; an entry that does not parse (another version's) is returned as `unreadable`. */
export async function listJobs(redis: Redis, keys: ClusterKeys): Promise<{ jobs: ClusterJob[]; unreadable: string[] }> {
  const raw = await redis.hgetall(keys.jobs);
  const jobs: ClusterJob[] = [];
  const unreadable: string[] = [];
  for (const [id, text] of Object.entries(raw)) {
    const job = parseJob(text);
    if (job === undefined) unreadable.push(id);
    else jobs.push(job);
  }
  jobs.sort((a, b) => a.createdAt - b.createdAt);
  return { jobs, unreadable };
}

/** Undefined for a record this version did not write (another schema, or not JSON). */
function parseJob(text: string): ClusterJob | undefined {
  try {
    const job = JSON.parse(text) as ClusterJob;
    return job.schema === CLUSTER_SCHEMA && typeof job.model === 'string' ? job : undefined;
  } catch {
    return undefined;
  }
}
