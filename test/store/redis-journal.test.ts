/**
 * The Redis journal against the same conformance suite as SQLite, on the real Redis at
 * 127.0.0.1:6379; each test gets its own key prefix, deleted when it ends.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, test } from 'node:test';
import os from 'node:os';
import { Redis } from 'ioredis';
import { openRedisJournal, pidScope, readRedisJournalStatus, RedisJournal, RedisLease } from '../../src/store/index.js';
import { identity } from './helpers.js';
import { journalConformance, rejectsWith } from './journal-conformance.js';

const redis = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
after(() => redis.disconnect());

/** A key prefix no other test uses; its keys are deleted when `t` ends. */
function place(t: { after(fn: () => void): void }): string {
  const base = `gpupool-test:journal:${randomUUID()}`;
  t.after(() => deleteUnder(base));
  return base;
}

async function deleteUnder(base: string): Promise<void> {
  const keys = await redis.keys(`${base}:*`);
  if (keys.length > 0) await redis.del(...keys);
}

journalConformance({
  name: 'redis',
  place,
  open: (key, id, options) => openRedisJournal({ redis, key, identity: id, fresh: options?.fresh }),
});

journalConformance({
  name: 'redis, folding every 3 commits',
  place,
  open: (key, id, options) => openRedisJournal({ redis, key, identity: id, fresh: options?.fresh, foldEvery: 3 }),
});

describe('RedisJournal specifics', () => {
  test('a second open while the first is live is refused, naming the holder; after close it opens', async (t) => {
    const key = place(t);
    const first = await openRedisJournal({ redis, key, identity: identity(), where: 'redis://127.0.0.1:6379 test' });
    const err = await rejectsWith(() => openRedisJournal({ redis, key, identity: identity(), where: 'redis://127.0.0.1:6379 test' }), 'GPUPOOL_E_JOURNAL_LOCKED');
    assert.match(err.message, /the journal at redis:\/\/127\.0\.0\.1:6379 test is in use by this process \(PID \d+\)/);
    await first.close();
    const second = await openRedisJournal({ redis, key, identity: identity() });
    await second.close();
  });

  test('a holder on another host keeps the journal until its lease expires', async (t) => {
    const key = place(t);
    await redis.set(`${key}:lock`, JSON.stringify({ token: 'x', pid: 1, hostname: 'elsewhere', since: Date.now() }), 'PX', 2000);
    // A lease long enough to be still held when a slow machine gets to open the journal.
    const err = await rejectsWith(() => openRedisJournal({ redis, key, identity: identity() }), 'GPUPOOL_E_JOURNAL_LOCKED');
    assert.match(err.message, /PID 1 on elsewhere.*expires in [12] s/);
    await new Promise((r) => setTimeout(r, 2100));
    const j = await openRedisJournal({ redis, key, identity: identity() });
    await j.close();
  });

  test('a holder on this host whose process is gone is taken over at once', async (t) => {
    const key = place(t);
    const j = await openRedisJournal({ redis, key, identity: identity() });
    await j.commit({ done: [0, 1], outputBytes: 7 });
    // What a kill -9 leaves: the lease names a PID that no longer runs, with time to live.
    await redis.set(`${key}:lock`, JSON.stringify({ token: 'dead', pid: 2 ** 22 + 17, hostname: os.hostname(), pidScope: pidScope(), since: 1 }), 'PX', 60_000);
    const again = await openRedisJournal({ redis, key, identity: identity() });
    assert.equal(again.recoveredFrom?.pid, 2 ** 22 + 17);
    assert.deepEqual([...(await again.resume()).done], [0, 1]);
    // The old holder can no longer commit, nor set meta (the input's digest): its lease is gone (fencing).
    await again.setMeta('inputDigest', { state: 's', crc32: 7, bytes: 4000 });
    await rejectsWith(() => j.commit({ done: [5], outputBytes: 9 }), 'GPUPOOL_E_JOURNAL_LOCKED');
    await rejectsWith(() => j.setMeta('inputDigest', { state: 's', crc32: 1, bytes: 2000 }), 'GPUPOOL_E_JOURNAL_LOCKED');
    assert.deepEqual((await again.status()).meta.inputDigest, { state: 's', crc32: 7, bytes: 4000 });
    await again.setMeta('inputDigest', undefined);
    assert.equal((await again.status()).meta.inputDigest, undefined, 'deleted by its holder');
    await again.close();
  });

  test('a holder with this hostname in another PID namespace (a container) is waited for, not judged by its PID', async (t) => {
    const key = place(t);
    // Host networking gives containers the machine's hostname; the holder's PID runs in its own
    // namespace, so that no process here has it says nothing. Ours may even be the same number.
    for (const pid of [2 ** 22 + 17, process.pid]) {
      await redis.set(`${key}:lock`, JSON.stringify({ token: 'x', pid, hostname: os.hostname(), pidScope: 'boot pid:[4026532999]', since: Date.now() }), 'PX', 60_000);
      const err = await rejectsWith(() => openRedisJournal({ redis, key, identity: identity() }), 'GPUPOOL_E_JOURNAL_LOCKED');
      assert.match(err.message, new RegExp(`in use by PID ${pid} on .* \\(in another PID namespace, such as another container\\), since .*expires in (60|59) s`));
      assert.equal((await RedisLease.holder(redis, `${key}:lock`))?.pid, pid, 'status shows it as the holder');
    }
  });

  test('readRedisJournalStatus reads without the lease, shows the live holder, and says null where there is none', async (t) => {
    const key = place(t);
    assert.equal(await readRedisJournalStatus(redis, key, 'w'), null);
    const j = await openRedisJournal({ redis, key, identity: identity('fp', { model: 'bert' }) });
    await j.commit({ done: [0, 1], failed: [{ seq: 2, code: 'E', message: 'boom', id: 'two' }], outputBytes: 12 });
    const live = (await readRedisJournalStatus(redis, key, 'w'))!;
    assert.equal(live.running?.pid, process.pid);
    assert.deepEqual(live.counts, { done: 2, failed: 1, total: null });
    await j.close();
    const s = (await readRedisJournalStatus(redis, key, 'w'))!;
    assert.equal(s.failures[0].id, 'two');
    assert.equal(s.running, null);
  });

  test('a closed journal refuses work; a damaged blob is reported as corrupt, not read as data', async (t) => {
    const key = place(t);
    const j: RedisJournal = await openRedisJournal({ redis, key, identity: identity() });
    await j.commit({ done: [3], outputBytes: 1 });
    await j.close();
    await rejectsWith(() => j.commit({ done: [1], outputBytes: 1 }), 'GPUPOOL_E_INTERNAL');
    await redis.rpush(`${key}:done`, Buffer.from([0x09, 0xff]));
    await rejectsWith(() => openRedisJournal({ redis, key, identity: identity() }), 'GPUPOOL_E_JOURNAL_CORRUPT');
  });
});
