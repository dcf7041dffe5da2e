import type { Redis } from 'ioredis';
import { GpupoolError } from '../errors/index.js';
import type {
  CommitGroup,
  JobIdentity,
  JobStore,
  JournalOwner,
  JournalStatus,
  LearnedLimit,
  ResumeState,
  StatusOptions,
} from './job-journal.js';
import { howJournalMatches, type JournalOpening } from './job-journal.js';
import { corruptError, mismatchError } from './journal-errors.js';
import { META_DESCRIPTION, META_FINGERPRINT, USER_META_PREFIX, userMetaOf } from './journal-schema.js';
import { RedisLease } from './redis-lease.js';
import { dataKeys, LIMIT_KEY_SEPARATOR, REDIS_JOURNAL_SCHEMA, redisJournalKeys, type RedisJournalKeys } from './redis-journal-keys.js';
import { queryRedisStatus, redisStoreError, type StoredFailure } from './redis-journal-status.js';
import { checkJournalOptions, itemId, JournalMemory } from './journal-memory.js';
import { decodeSeqsInto, encodeSeqs, encodeSeqSet, SeqCodecError } from './seq-codec.js';
import { isSeq } from './seq-set.js';

const META_SCHEMA = 'schema';

export interface OpenRedisJournalOptions {
  /** A connected client; the journal uses it and leaves it open on close. */
  readonly redis: Redis;
  /** The base key every key of this journal starts with. */
  readonly key: string;
  readonly identity: JobIdentity;
  /** For messages: the (masked) Redis URL and key. @defaultValue the key */
  readonly where?: string;
  /** Discard whatever journal is at `key` and start over. @defaultValue false */
  readonly fresh?: boolean;
  /** Fold the per-commit blobs into one after this many commits. @defaultValue 256 */
  readonly foldEvery?: number;
  /** How long the journal stays locked after its holder stopped renewing. @defaultValue 15000 */
  readonly lockTtlMs?: number;
}

/**
 * The start of every script that writes: it goes on only while this process holds the lease
 * (taking it again if it lapsed and nobody took it), else fails with LOCKLOST.
 *   KEYS[1]: lock   ARGV[1]: lease   ARGV[2]: ttl
 */
const HOLDS_LEASE = `
local held = redis.call('GET', KEYS[1])
if held == false then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
elseif held ~= ARGV[1] then return redis.error_reply('LOCKLOST the journal lock is held by another process') end
`;

/**
 * One commit, atomically, and only while this process holds the lease: a process that
 * stalled past the lease's TTL and lost it to another cannot write over the other's work.
 *   KEYS: lock done failed failedOrder progress
 *   ARGV: lease ttl fold blob outputBytes doneCount failedCount now nCleared cleared… (seq json)…
 */
const COMMIT = `${HOLDS_LEASE}if ARGV[3] == '1' then redis.call('DEL', KEYS[2]) end
if string.len(ARGV[4]) > 0 then redis.call('RPUSH', KEYS[2], ARGV[4]) end
local i = 10
local nCleared = tonumber(ARGV[9])
for k = 1, nCleared do
  redis.call('HDEL', KEYS[3], ARGV[i]); redis.call('ZREM', KEYS[4], ARGV[i]); i = i + 1
end
while i <= #ARGV do
  redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1]); redis.call('ZADD', KEYS[4], ARGV[i], ARGV[i]); i = i + 2
end
redis.call('HSET', KEYS[5], 'outputBytes', ARGV[5], 'done', ARGV[6], 'failed', ARGV[7], 'updatedAt', ARGV[8])
redis.call('HINCRBY', KEYS[5], 'commits', 1)
return 1`;

/**
 * A meta field set (or deleted, with no value), only while this process holds the lease, as a
 * commit: the input's digest a stalled process kept after another took the journal over would
 * describe fewer bytes than the other's commits.
 *   KEYS: lock meta   ARGV: lease ttl field [value]
 */
const SET_META = `${HOLDS_LEASE}if #ARGV >= 4 then redis.call('HSET', KEYS[2], ARGV[3], ARGV[4]) else redis.call('HDEL', KEYS[2], ARGV[3]) end
return 1`;

/**
 * The journal in Redis: the same verbs and guarantees as {@link SqliteJournal}, for a
 * submitter whose state must outlive its machine and that `gpupool status --redis` reads
 * from anywhere. One live holder at a time ({@link RedisLease}); a commit is one Lua script,
 * so all of a group or none of it is recorded.
 */
export class RedisJournal implements JobStore {
  readonly where: string;
  readonly recoveredFrom: JournalOwner | null;
  readonly #redis: Redis;
  readonly #keys: RedisJournalKeys;
  readonly #lease: RedisLease;
  readonly #ttlMs: number;
  readonly #memory: JournalMemory;
  #closed = false;

  static async open(options: OpenRedisJournalOptions): Promise<RedisJournal> {
    const { identity, redis } = options;
    const foldEvery = checkJournalOptions('openRedisJournal', identity, options.foldEvery);
    const where = options.where ?? options.key;
    const keys = redisJournalKeys(options.key);
    const ttlMs = options.lockTtlMs ?? 15_000;
    let lease: RedisLease;
    try {
      lease = await RedisLease.acquire(redis, keys.lock, { what: `the journal at ${where}`, ttlMs });
    } catch (err) {
      throw redisStoreError(err, where);
    }
    try {
      // Only under the lease: never wipe the journal of a live submitter.
      if (options.fresh === true) await redis.del(...dataKeys(keys));
      const openedAs = await prepare(redis, keys, where, identity);
      const journal = new RedisJournal(redis, keys, lease, where, foldEvery, ttlMs, openedAs);
      await journal.#load();
      return journal;
    } catch (err) {
      await lease.release();
      throw redisStoreError(err, where);
    }
  }

  private constructor(redis: Redis, keys: RedisJournalKeys, lease: RedisLease, where: string, foldEvery: number, ttlMs: number, readonly openedAs: JournalOpening) {
    this.#redis = redis;
    this.#keys = keys;
    this.#lease = lease;
    this.where = where;
    this.#memory = new JournalMemory(foldEvery);
    this.#ttlMs = ttlMs;
    this.recoveredFrom = lease.previousOwner;
  }

  resume(): ResumeState {
    this.#assertOpen();
    return this.#memory.resumeState();
  }

  async commit(group: CommitGroup): Promise<void> {
    this.#assertOpen();
    const memory = this.#memory;
    // Memory first (a fold encodes the whole set), undone if the script fails.
    const staged = memory.stage(group);
    const { fresh, cleared } = staged;
    const blob = staged.fold ? encodeSeqSet(memory.done) : fresh.length > 0 ? encodeSeqs(fresh) : Buffer.alloc(0);
    const now = Date.now();
    const args: (string | number | Buffer)[] = [
      this.#lease.value, this.#ttlMs, staged.fold ? '1' : '0', blob, staged.outputBytes, memory.done.size, memory.failed.size, now, cleared.length, ...cleared,
    ];
    for (const f of staged.newFailures) {
      const stored: StoredFailure = { id: itemId(f), code: String(f.code), message: String(f.message), failedAt: now };
      args.push(f.seq, JSON.stringify(stored));
    }
    const k = this.#keys;
    try {
      await this.#redis.eval(COMMIT, 5, k.lock, k.done, k.failed, k.failedOrder, k.progress, ...args);
    } catch (err) {
      memory.undo(staged);
      throw this.#error(err);
    }
    memory.settle(staged);
  }

  async retryFailed(): Promise<void> {
    await this.#write((m) => m.del(this.#keys.failed, this.#keys.failedOrder).hset(this.#keys.progress, 'failed', 0, 'updatedAt', Date.now()).hdel(this.#keys.progress, 'finishedAt'));
    this.#memory.failed.clear();
  }

  async learnedLimits(model: string): Promise<Record<string, LearnedLimit>> {
    this.#assertOpen();
    const all = await this.#redis.hgetall(this.#keys.limits).catch((err: unknown) => Promise.reject(this.#error(err)));
    const out: Record<string, LearnedLimit> = {};
    const prefix = `${model}${LIMIT_KEY_SEPARATOR}`;
    for (const [k, v] of Object.entries(all)) if (k.startsWith(prefix)) out[k.slice(prefix.length)] = JSON.parse(v) as LearnedLimit;
    return out;
  }

  async saveLearnedLimit(model: string, deviceKey: string, limit: number): Promise<void> {
    if (!Number.isSafeInteger(limit) || limit < 1) {
      throw new GpupoolError('GPUPOOL_E_INTERNAL', `saveLearnedLimit: limit must be an integer ≥ 1, got ${limit}`);
    }
    const value: LearnedLimit = { limit, updatedAt: Date.now() };
    await this.#write((m) => m.hset(this.#keys.limits, `${model}${LIMIT_KEY_SEPARATOR}${deviceKey}`, JSON.stringify(value)));
  }

  async setMeta(key: string, value: unknown): Promise<void> {
    const field = USER_META_PREFIX + key;
    this.#assertOpen();
    const args = value === undefined ? [field] : [field, JSON.stringify(value)];
    await this.#redis.eval(SET_META, 2, this.#keys.lock, this.#keys.meta, this.#lease.value, this.#ttlMs, ...args).catch((err: unknown) => Promise.reject(this.#error(err)));
  }

  async markFinished(totalItems: number): Promise<void> {
    if (!Number.isSafeInteger(totalItems) || totalItems < 0) {
      throw new GpupoolError('GPUPOOL_E_INTERNAL', `markFinished: totalItems must be an integer ≥ 0, got ${totalItems}`);
    }
    const now = Date.now();
    await this.#write((m) => m.hset(this.#keys.progress, 'finishedAt', now, 'total', totalItems, 'updatedAt', now));
  }

  async status(options?: StatusOptions): Promise<JournalStatus> {
    this.#assertOpen();
    try {
      return await queryRedisStatus(this.#redis, this.#keys, this.where, await RedisLease.holder(this.#redis, this.#keys.lock), options);
    } catch (err) {
      throw this.#error(err);
    }
  }

  /** Folds the done blobs into one and releases the lease; the client stays open. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      if (this.#memory.records > 1) {
        await this.#redis.multi().del(this.#keys.done).rpush(this.#keys.done, encodeSeqSet(this.#memory.done)).exec();
      }
    } catch {
      // Unfolded blobs are just as valid.
    } finally {
      await this.#lease.release();
    }
  }

  async #load(): Promise<void> {
    const k = this.#keys;
    const [blobs, failedSeqs, progress] = await Promise.all([
      this.#redis.lrangeBuffer(k.done, 0, -1),
      this.#redis.zrange(k.failedOrder, 0, '-1'),
      this.#redis.hgetall(k.progress),
    ]);
    try {
      for (const blob of blobs) {
        decodeSeqsInto(blob, this.#memory.done);
        this.#memory.records++;
      }
    } catch (err) {
      if (err instanceof SeqCodecError) throw corruptError(this.where, err.message, err);
      throw err;
    }
    for (const raw of failedSeqs) {
      const seq = Number(raw);
      if (!isSeq(seq)) throw corruptError(this.where, `failed item with seq ${raw}`);
      if (this.#memory.done.has(seq)) throw corruptError(this.where, `seq ${seq} is both done and failed`);
      this.#memory.failed.add(seq);
    }
    if (progress.done === undefined) throw corruptError(this.where, 'the progress hash is missing');
    const disagree = this.#memory.countsDisagree(progress.done, progress.failed);
    if (disagree) throw corruptError(this.where, disagree);
    this.#memory.outputBytes = Number(progress.outputBytes);
  }

  async #write(build: (m: ReturnType<Redis['multi']>) => unknown): Promise<void> {
    this.#assertOpen();
    const m = this.#redis.multi();
    build(m);
    try {
      const results = await m.exec();
      const failed = results?.find(([err]) => err !== null);
      if (failed) throw failed[0];
    } catch (err) {
      throw this.#error(err);
    }
  }

  #error(err: unknown): unknown {
    const message = (err as Error)?.message ?? '';
    if (message.startsWith('LOCKLOST')) {
      return new GpupoolError('GPUPOOL_E_JOURNAL_LOCKED', `the journal at ${this.where} was taken by another process while this one held it (it stalled past the lock's ${this.#ttlMs} ms)`, { cause: err });
    }
    return redisStoreError(err, this.where);
  }

  #assertOpen(): void {
    if (this.#closed) throw new GpupoolError('GPUPOOL_E_INTERNAL', `the journal at ${this.where} is closed`);
  }
}

/** Opens (creating, or with `fresh` recreating) a journal in Redis; see {@link RedisJournal}. */
export function openRedisJournal(options: OpenRedisJournalOptions): Promise<RedisJournal> {
  return RedisJournal.open(options);
}

/** Creates the journal's meta and progress, or checks that the one there is this job's. */
async function prepare(redis: Redis, keys: RedisJournalKeys, where: string, identity: JobIdentity): Promise<JournalOpening> {
  const meta = await redis.hgetall(keys.meta);
  const description = JSON.stringify(identity.description);
  if (meta[META_FINGERPRINT] === undefined) {
    const now = Date.now();
    await redis
      .multi()
      .hset(keys.meta, META_FINGERPRINT, identity.fingerprint, META_DESCRIPTION, description, META_SCHEMA, REDIS_JOURNAL_SCHEMA)
      .hset(keys.progress, 'outputBytes', 0, 'done', 0, 'failed', 0, 'commits', 0, 'startedAt', now, 'updatedAt', now)
      .exec();
    return 'new';
  }
  const schema = Number(meta[META_SCHEMA]);
  if (schema !== REDIS_JOURNAL_SCHEMA) {
    throw new GpupoolError(
      'GPUPOOL_E_JOURNAL_MISMATCH',
      `the journal at ${where} has schema ${meta[META_SCHEMA]}; this gpupool reads schema ${REDIS_JOURNAL_SCHEMA}: use the gpupool that wrote it, or run with --fresh`,
    );
  }
  const stored = JSON.parse(meta[META_DESCRIPTION] ?? '{}') as Record<string, unknown>;
  const { match, why } = howJournalMatches({ fingerprint: meta[META_FINGERPRINT], description: stored, meta: userMetaOf(Object.entries(meta)) }, identity);
  if (match === undefined) throw mismatchError(where, stored, identity.description, identity.compared, identity.mismatchRemedy, why);
  if (match === 'same' && meta[META_DESCRIPTION] === description) return match;
  // At once: the new fingerprint with the current description (a moved config, a grown input);
  // for a grown input, not finished until its new items are done.
  const update = redis.multi().hset(keys.meta, META_FINGERPRINT, identity.fingerprint, META_DESCRIPTION, description);
  if (match === 'grown') update.hdel(keys.progress, 'finishedAt', 'total');
  const failed = (await update.exec())?.find(([err]) => err !== null)?.[0];
  if (failed) throw failed;
  return match;
}

