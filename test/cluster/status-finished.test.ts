/**
 * `gpupool status --redis` without a JOB lists, after the registered jobs, the finished ones
 * whose journal is in Redis (a job leaves the registry when it finishes): the latest 20, and how
 * many older ones there are.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { checkQueueSchema, ClusterKeys, FINISHED_SHOWN, formatClusterStatus, readClusterStatus } from '../../src/cluster/index.js';
import { openRedisJournal } from '../../src/store/index.js';
import { SHARED_REDIS, uniquePrefix } from './cluster-helpers.js';

const redis = new Redis(SHARED_REDIS, { maxRetriesPerRequest: null });
after(() => redis.disconnect());

test('finished jobs with their journal in Redis are listed, the latest first, older ones counted', async (t) => {
  const prefix = uniquePrefix(t);
  const keys = new ClusterKeys(prefix);
  await checkQueueSchema(redis, keys, 'test', true);
  const count = FINISHED_SHOWN + 2;
  for (let i = 0; i < count; i++) {
    const journal = await openRedisJournal({ redis, key: keys.journal(`job-${i}`), identity: { fingerprint: `fp-${i}`, description: { model: 'echo', input: `in-${i}.jsonl`, output: `/data/out-${i}.jsonl` } } });
    await journal.markFinished(i);
    await journal.close();
    await sleep(3); // each finished at its own millisecond
  }
  // Another prefix's journal is not this one's.
  const other = await openRedisJournal({ redis, key: new ClusterKeys(`${prefix}x`).journal('job-x'), identity: { fingerprint: 'fp-x', description: { model: 'echo' } } });
  await other.close();
  t.after(async () => void (await redis.del(...(await redis.keys(`${prefix}x:*`)))));

  const status = await readClusterStatus({ redisUrl: SHARED_REDIS, prefix });
  assert.deepEqual(status.jobs.map((v) => v.job.id), Array.from({ length: FINISHED_SHOWN }, (_, k) => `job-${count - 1 - k}`));
  assert.equal(status.olderFinished, 2);
  const text = formatClusterStatus(status);
  assert.match(text, new RegExp(`^jobs \\(${FINISHED_SHOWN}\\):\\n {2}job-${count - 1} {2}model echo {2}input in-${count - 1}\\.jsonl {2}output /data/out-${count - 1}\\.jsonl\\n {4}0 done, 0 failed of ${count - 1}; finished \\(journal in Redis\\)$`, 'm'));
  assert.match(text, new RegExp(`^ {2}and 2 older finished jobs whose journal is in Redis: gpupool status --redis URL --prefix ${prefix} JOB shows one$`, 'm'));
  // One of the older ones is still found by its id.
  const one = await readClusterStatus({ redisUrl: SHARED_REDIS, prefix, job: 'job-0' });
  assert.deepEqual(one.jobs.map((v) => v.job.id), ['job-0']);
});
