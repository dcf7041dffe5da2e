/**
 * Redis restarted mid-job (a redis-server of the test's own, with an append-only file so its
 * data survives): agents and submitter reconnect and the job completes, each id once.
 *
 * Both tests hold the job open with the gate worker: only the first items pass until the test
 * opens the gate after the restart, so however fast the machine the job cannot finish before
 * Redis goes away (on a quiet CI machine 20,000 echo items once did).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { readOutput, startCli, tempDir, writeJsonl } from '../helpers/cli.js';
import { killAtEnd } from '../helpers/processes.js';
import { clusterConfig, duplicatesAndMissing, FIXTURES, PrivateRedis, startAgent, uniquePrefix, waitForLines } from './cluster-helpers.js';

const FREE_ITEMS = 2000;

const pids = killAtEnd();

/**
 * A private redis-server (with `redisArgs`), two agents named `agentNames` and a submitter of
 * `count` items whose items past the first FREE_ITEMS wait for `gate` to exist.
 */
async function startGatedJob(t: { after(fn: () => Promise<void>): void }, redisArgs: string[], count: number, agentNames: string[], kind: 'jsonl' | 'folder' = 'jsonl') {
  const dir = tempDir();
  const redis = await PrivateRedis.start(tempDir('gpupool-redis-'), redisArgs);
  pids.push(redis.pid!);
  const prefix = uniquePrefix(t, redis.url);
  t.after(() => redis.stop());
  const config = clusterConfig(dir, { worker: path.join(FIXTURES, 'gate_worker.py'), workers: 1 });
  const gate = path.join(dir, 'gate');
  let input: string;
  if (kind === 'jsonl') input = writeJsonl(path.join(dir, 'in.jsonl'), count, (i) => (i < FREE_ITEMS ? { n: i } : { n: i, gate }));
  else {
    // Each file holds the gate's path past the first FREE_ITEMS (gate_worker.py reads it).
    input = path.join(dir, 'pages');
    fs.mkdirSync(input);
    for (let i = 0; i < count; i++) fs.writeFileSync(path.join(input, `p${String(i).padStart(5, '0')}`), i < FREE_ITEMS ? '' : gate);
  }
  const out = path.join(dir, 'out.jsonl');
  const agents = await Promise.all(agentNames.map((name) => startAgent(config, redis.url, prefix, name)));
  for (const a of agents) pids.push(a.child.pid!);
  const submit = startCli(['submit', '-c', config, '--redis', redis.url, '--prefix', prefix, '-i', input, '-o', out, '--chunk-size', '400', '--lock-duration', '2s', '--progress', 'none', '--json']);
  pids.push(submit.child.pid!);
  return { redis, gate, input, out, agents, submit };
}

test('Redis restarted mid-job: agents and submitter reconnect, the job completes, each id once', { timeout: 120_000 }, async (t) => {
  const count = 40_000;
  const { redis, gate, out, agents, submit } = await startGatedJob(t, [], count, ['r1', 'r2']);
  const before = await waitForLines(out, FREE_ITEMS / 2);
  await redis.stop();
  await new Promise((r) => setTimeout(r, 1500));
  await redis.start();
  pids.push(redis.pid!);
  fs.writeFileSync(gate, '');

  const r = await submit.done;
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /ECONNREFUSED[\s\S]*ECONNREFUSED/, 'an outage is told once, not per failed command');
  assert.ok(before < count, 'Redis went away mid-job');
  assert.match(r.stderr, new RegExp(`lost Redis at ${redis.url.replace(/\./g, '\\.')}.*; reconnecting`));
  assert.match(r.stderr, /is back/);
  const summary = JSON.parse(r.stdout) as { done: number; duplicates: number };
  assert.equal(summary.done, count);
  const { duplicates, missing } = duplicatesAndMissing(out, count);
  assert.deepEqual(duplicates, []);
  assert.deepEqual(missing, []);
  for (const a of agents) a.child.kill('SIGINT');
  for (const a of agents) {
    const done = await a.done;
    assert.equal(done.code, 0, done.stderr);
    assert.match(done.stderr, /lost Redis at .*; reconnecting/);
  }
});

for (const kind of ['jsonl', 'folder'] as const) {
  test(`Redis restarted without its data: the job is registered again and the chunks it lost are read again (${kind === 'jsonl' ? 'JSONL' : 'a folder'})`, { timeout: 120_000 }, async (t) => {
    const count = kind === 'jsonl' ? 20_000 : 6_000;
    const { redis, gate, input, out, agents, submit } = await startGatedJob(t, ['--appendonly', 'no'], count, ['e1', 'e2'], kind);
    await waitForLines(out, FREE_ITEMS / 2);
    await redis.stop();
    await redis.start();
    pids.push(redis.pid!);
    fs.writeFileSync(gate, '');

    const r = await submit.done;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /was no longer registered at .*; registered it again/);
    assert.match(r.stderr, /chunk \S+ is no longer in Redis \(was Redis restarted without persistence\?\); its items will be read again/);
    if (kind === 'jsonl') {
      const { duplicates, missing } = duplicatesAndMissing(out, count);
      assert.deepEqual(duplicates, []);
      assert.deepEqual(missing, []);
    } else {
      // The folder's listing is read again for the lost chunks (it was read once only, and 20% of the files went missing).
      const ids = readOutput(out).map((l) => String(l.id));
      assert.equal(ids.length, count);
      assert.deepEqual(new Set(ids), new Set(fs.readdirSync(input).map((n) => path.join(input, n))));
    }
    for (const a of agents) a.child.kill('SIGINT');
    for (const a of agents) assert.equal((await a.done).code, 0);
  });
}
