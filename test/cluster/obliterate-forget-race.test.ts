/**
 * A submit deletes a job's queue (BullMQ's pause, then its obliterate script) while the job is
 * not registered (a rerun of a finished job, `--fresh`): an agent letting go of the job may
 * delete the queue's meta hash, and with it the pause mark, between the two. The obliterate
 * must still succeed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { ChunkQueue, forgetQueue } from '../../src/cluster/chunk-queue.js';
import { ClusterKeys } from '../../src/cluster/cluster-keys.js';
import { SHARED_REDIS, uniquePrefix } from './cluster-helpers.js';

test("a queue's obliterate succeeds while agents forget the queue at the same moment", { timeout: 60_000 }, async (t) => {
  const keys = new ClusterKeys(uniquePrefix(t));
  const job = 'race';
  const submitter = new Redis(SHARED_REDIS, { maxRetriesPerRequest: null });
  const agent = new Redis(SHARED_REDIS, { maxRetriesPerRequest: null });
  t.after(() => {
    submitter.disconnect();
    agent.disconnect();
  });
  const queue = new ChunkQueue(submitter, keys, job);
  t.after(() => queue.close());
  // An agent forgets the queue as fast as Redis answers, as two agents' polls may, for each try.
  for (let attempt = 0; attempt < 200; attempt++) {
    await queue.capEvents();
    let obliterated = false;
    const forgetting = (async () => {
      while (!obliterated) await forgetQueue(agent, keys, job, keys.queueName(job));
    })();
    try {
      await queue.obliterate();
    } finally {
      obliterated = true;
      await forgetting;
    }
    assert.equal(await submitter.exists(`${keys.prefix}:${keys.queueName(job)}:wait`), 0);
  }
});
