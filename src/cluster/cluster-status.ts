import type { Redis } from 'ioredis';
import { GpupoolError } from '../errors/index.js';
import { readRedisJournalStatus, RedisLease, type JournalOwner, type JournalStatus } from '../store/index.js';
import { listAgents, type AgentInfo } from './agent-info.js';
import { ChunkQueue } from './chunk-queue.js';
import { listJobs, type ClusterJob } from './cluster-job.js';
import { ClusterKeys } from './cluster-keys.js';
import { checkName } from './cluster-name.js';
import { checkQueueSchema } from './cluster-schema.js';
import { checkJobInput, SUBMITTER_HOST_META, type JobInputCheck } from './job-input-check.js';
import { connectRedis } from './redis-connect.js';
import { maskRedisUrl, parseRedisUrl } from './redis-url.js';

/** What the submitter last published (`<prefix>:job:<id>:progress`). */
export interface JobProgress {
  readonly done: number;
  readonly failed: number;
  readonly resumed: number;
  readonly read: number;
  /** 0..1 of the input read, where it can be known. */
  readonly fractionRead: number | null;
  readonly chunksOut: number;
  readonly window: number;
  readonly splits: number;
  readonly duplicates: number;
  /** Results of chunks from before `--fresh`, dropped. */
  readonly stale: number;
  readonly itemsPerSecond: number;
  readonly updatedAt: number;
}

export interface JobStatusView {
  readonly job: ClusterJob;
  /** The live submitter, or null when it is gone (killed: run the same submit to resume). */
  readonly submitter: JournalOwner | null;
  readonly progress: JobProgress | null;
  /** Chunks by BullMQ state (waiting, active, failed…), and `suspects`: one-item chunks to run alone. */
  readonly chunks: Record<string, number>;
  /** The journal's status, when it is kept in Redis (`--journal redis`). */
  readonly journal: JournalStatus | null;
  /** Its input changed since the journal took it, or could not be checked from this host (see {@link checkJobInput}). */
  readonly input?: JobInputCheck;
}

export interface ClusterStatus {
  /** The URL, password masked. */
  readonly redis: string;
  readonly prefix: string;
  /** Registered jobs, then the latest {@link FINISHED_SHOWN} no longer registered whose journal is in Redis (finished). */
  readonly jobs: JobStatusView[];
  /** How many more such journals there are, older than those listed. */
  readonly olderFinished?: number;
  readonly agents: AgentInfo[];
}

export interface ClusterStatusOptions {
  readonly redisUrl: string;
  /** @defaultValue gpupool */
  readonly prefix?: string;
  /** Only this job (a finished job whose journal is in Redis is found too). */
  readonly job?: string;
}

/** `gpupool status --redis URL [JOB]`: jobs, their progress and chunks, and the live agents with their devices. */
export async function readClusterStatus(options: ClusterStatusOptions): Promise<ClusterStatus> {
  const url = parseRedisUrl(options.redisUrl);
  const masked = maskRedisUrl(url);
  const keys = new ClusterKeys(checkName(options.prefix ?? 'gpupool', '--prefix'));
  const redis = await connectRedis(url, { name: 'gpupool-status' });
  try {
    const empty: ClusterStatus = { redis: masked, prefix: keys.prefix, jobs: [], agents: [] };
    if (!(await checkQueueSchema(redis, keys, masked, false))) {
      if (options.job !== undefined) throw notFound(options.job, masked, keys, [], []);
      return empty;
    }
    const { jobs } = await listJobs(redis, keys);
    let views: JobStatusView[];
    let olderFinished = 0;
    if (options.job === undefined) {
      views = await Promise.all(jobs.map((job) => jobView(redis, keys, masked, job)));
      const finished = await finishedJobViews(redis, keys, masked, new Set(jobs.map((j) => j.id)));
      views.push(...finished.shown);
      olderFinished = finished.older;
    } else {
      const chosen = jobs.filter((j) => j.id === options.job);
      if (chosen.length > 0) {
        views = await Promise.all(chosen.map((job) => jobView(redis, keys, masked, job)));
      } else {
        const journal = await readRedisJournalStatus(redis, keys.journal(options.job), `${masked} key ${keys.journal(options.job)}`);
        if (journal === null) {
          const registered = jobs.map((j) => j.id);
          throw notFound(options.job, masked, keys, registered, await finishedJournals(redis, keys, masked, new Set(registered)));
        }
        views = [await withInput(finishedView(options.job, journal))];
      }
    }
    const agents = await listAgents(redis, keys);
    return {
      redis: masked,
      prefix: keys.prefix,
      jobs: views,
      ...(olderFinished > 0 ? { olderFinished } : {}),
      // With a JOB: the agents that hold its chunks or run its model (also for a finished job).
      agents: options.job === undefined ? agents : agents.filter((a) => a.jobs[options.job!] !== undefined || views.some((v) => a.capacity[v.job.model] !== undefined)),
    };
  } finally {
    redis.disconnect();
  }
}

async function jobView(redis: Redis, keys: ClusterKeys, masked: string, job: ClusterJob): Promise<JobStatusView> {
  const queue = new ChunkQueue(redis, keys, job.id, { readOnly: true });
  const solo = new ChunkQueue(redis, keys, job.id, { solo: true, readOnly: true });
  try {
    const [submitter, raw, chunks, suspects, journal] = await Promise.all([
      RedisLease.holder(redis, keys.submitter(job.id)),
      redis.hgetall(keys.progress(job.id)),
      queue.counts(),
      solo.counts(),
      job.journal === 'redis' ? readRedisJournalStatus(redis, keys.journal(job.id), `${masked} key ${keys.journal(job.id)}`) : Promise.resolve(null),
    ]);
    chunks.suspects = (suspects.waiting ?? 0) + (suspects.active ?? 0);
    return withInput({ job, submitter, progress: parseProgress(raw), chunks, journal });
  } finally {
    await Promise.all([queue.close(), solo.close()]);
  }
}

async function withInput(view: JobStatusView): Promise<JobStatusView> {
  const input = await checkJobInput(view.job, view.journal);
  return input === undefined ? view : { ...view, input };
}

/** The most finished jobs `status --redis` lists without a JOB: the latest first; `status --redis … JOB` shows any. */
export const FINISHED_SHOWN = 20;

/**
 * Jobs no longer registered (a job is unregistered once finished) whose journal is in Redis
 * (`submit --journal redis`), found by their journal's keys: the latest {@link FINISHED_SHOWN}
 * by when they were last written, and how many older ones there are.
 */
async function finishedJobViews(redis: Redis, keys: ClusterKeys, masked: string, registered: ReadonlySet<string>): Promise<{ shown: JobStatusView[]; older: number }> {
  const found = await finishedJournals(redis, keys, masked, registered);
  const shown = await Promise.all(found.slice(0, FINISHED_SHOWN).map((j) => withInput(finishedView(j.id, j.journal))));
  return { shown, older: Math.max(0, found.length - FINISHED_SHOWN) };
}

/** The journals in Redis of jobs no longer registered (finished), the latest first. */
async function finishedJournals(redis: Redis, keys: ClusterKeys, masked: string, registered: ReadonlySet<string>): Promise<{ id: string; journal: JournalStatus }[]> {
  const ids: string[] = [];
  const meta = new RegExp(`^${keys.prefix.replace(/[.]/g, '\\.')}:job:([A-Za-z0-9_.-]+):journal:meta$`);
  for await (const batch of redis.scanStream({ match: `${keys.prefix}:job:*:journal:meta`, count: 1000 }) as AsyncIterable<string[]>) {
    for (const key of batch) {
      const id = meta.exec(key)?.[1];
      if (id !== undefined && !registered.has(id) && !ids.includes(id)) ids.push(id);
    }
  }
  const journals = await Promise.all(ids.map(async (id) => ({ id, journal: await readRedisJournalStatus(redis, keys.journal(id), `${masked} key ${keys.journal(id)}`) })));
  const found = journals.filter((j): j is { id: string; journal: JournalStatus } => j.journal !== null);
  found.sort((a, b) => (b.journal.finishedAt ?? b.journal.updatedAt) - (a.journal.finishedAt ?? a.journal.updatedAt));
  return found;
}

/** A job no longer registered (finished) whose journal is in Redis. */
function finishedView(id: string, journal: JournalStatus): JobStatusView {
  const d = journal.description;
  const job: ClusterJob = {
    id,
    model: String(d.model ?? '?'),
    schema: 0,
    chunkSize: 0,
    lockDurationMs: 0,
    journal: 'redis',
    description: d,
    submitter: { host: journal.running?.hostname ?? hostOf(journal.meta[SUBMITTER_HOST_META]), pid: journal.running?.pid ?? 0 },
    createdAt: journal.startedAt,
  };
  return { job, submitter: journal.running, progress: null, chunks: {}, journal };
}

/** '' where a submitter from before it was kept left none. */
function hostOf(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function parseProgress(raw: Record<string, string>): JobProgress | null {
  if (raw.updatedAt === undefined) return null;
  const n = (k: string): number => Number(raw[k] ?? 0);
  return {
    done: n('done'),
    failed: n('failed'),
    resumed: n('resumed'),
    read: n('read'),
    fractionRead: raw.fractionRead ? Number(raw.fractionRead) : null,
    chunksOut: n('chunksOut'),
    window: n('window'),
    splits: n('splits'),
    duplicates: n('duplicates'),
    stale: n('stale'),
    itemsPerSecond: n('itemsPerSecond'),
    updatedAt: n('updatedAt'),
  };
}

/** Names the jobs that are there: registered ones, then finished ones whose journal is in Redis (the latest {@link FINISHED_SHOWN}). */
function notFound(job: string, masked: string, keys: ClusterKeys, registered: string[], finished: readonly { id: string }[]): GpupoolError {
  const there: string[] = [];
  if (registered.length > 0) there.push(`jobs there: ${registered.join(', ')}`);
  if (finished.length > 0) {
    const older = finished.length > FINISHED_SHOWN ? ` and ${finished.length - FINISHED_SHOWN} older` : '';
    there.push(`finished jobs whose journal is in Redis: ${finished.slice(0, FINISHED_SHOWN).map((f) => f.id).join(', ')}${older}`);
  }
  return new GpupoolError('GPUPOOL_E_NOT_FOUND', `no job "${job}" at ${masked} under prefix "${keys.prefix}"; ${there.length > 0 ? there.join('; ') : 'there are no jobs there'}`);
}
