import type { Redis } from 'ioredis';
import { GpupoolError } from '../errors/index.js';
import type { FailureRecord, JournalStatus, LearnedLimit, StatusOptions } from './job-journal.js';
import { META_DESCRIPTION, META_FINGERPRINT, userMetaOf } from './journal-schema.js';
import { RedisLease } from './redis-lease.js';
import { LIMIT_KEY_SEPARATOR, redisJournalKeys, type RedisJournalKeys } from './redis-journal-keys.js';

const DEFAULT_FAILURE_LIMIT = 20;

/** A Redis error from a journal's keys as GPUPOOL_E_REDIS naming where (a GpupoolError passes as it is). */
export function redisStoreError(err: unknown, where: string): unknown {
  if (err instanceof GpupoolError) return err;
  return new GpupoolError('GPUPOOL_E_REDIS', `the journal at ${where}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}

/** A failed item as stored: everything but the seq, which is the hash field. */
export interface StoredFailure {
  readonly id: string | number;
  readonly code: string;
  readonly message: string;
  readonly failedAt: number;
}

/** Reads a journal's status (without its lease: a submitter may be running); null when there is none at `base`. */
export async function readRedisJournalStatus(redis: Redis, base: string, where: string, options: StatusOptions = {}): Promise<JournalStatus | null> {
  const keys = redisJournalKeys(base);
  try {
    if ((await redis.exists(keys.meta)) === 0) return null;
    return await queryRedisStatus(redis, keys, where, await RedisLease.holder(redis, keys.lock), options);
  } catch (err) {
    throw redisStoreError(err, where);
  }
}

export async function queryRedisStatus(
  redis: Redis,
  keys: RedisJournalKeys,
  where: string,
  running: JournalStatus['running'],
  options: StatusOptions = {},
): Promise<JournalStatus> {
  const limit = options.failureLimit ?? DEFAULT_FAILURE_LIMIT;
  const [meta, progress, firstSeqs, limits] = await Promise.all([
    redis.hgetall(keys.meta),
    redis.hgetall(keys.progress),
    limit > 0 ? redis.zrange(keys.failedOrder, 0, String(limit - 1)) : Promise.resolve([] as string[]),
    redis.hgetall(keys.limits),
  ]);
  const stored = firstSeqs.length > 0 ? await redis.hmget(keys.failed, ...firstSeqs) : [];
  const failures: FailureRecord[] = [];
  firstSeqs.forEach((seq, i) => {
    const raw = stored[i];
    if (raw === null) return;
    const f = JSON.parse(raw) as StoredFailure;
    failures.push({ seq: Number(seq), id: f.id, code: f.code, message: f.message, failedAt: f.failedAt });
  });
  const userMeta = userMetaOf(Object.entries(meta));
  const learnedLimits: Record<string, Record<string, LearnedLimit>> = {};
  for (const k of Object.keys(limits).sort()) {
    const [model, device] = k.split(LIMIT_KEY_SEPARATOR);
    (learnedLimits[model] ??= {})[device] = JSON.parse(limits[k]) as LearnedLimit;
  }
  const num = (k: string): number => Number(progress[k] ?? 0);
  const finishedAt = progress.finishedAt ? Number(progress.finishedAt) : null;
  return {
    stateDir: where,
    fingerprint: meta[META_FINGERPRINT] ?? '',
    description: JSON.parse(meta[META_DESCRIPTION] ?? '{}') as Record<string, unknown>,
    counts: { done: num('done'), failed: num('failed'), total: progress.total ? Number(progress.total) : null },
    outputBytes: num('outputBytes'),
    commits: num('commits'),
    failures,
    learnedLimits,
    meta: userMeta,
    startedAt: num('startedAt'),
    updatedAt: num('updatedAt'),
    finishedAt,
    finished: finishedAt !== null,
    running,
  };
}
