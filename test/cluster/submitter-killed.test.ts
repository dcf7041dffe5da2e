/**
 * The submitter SIGKILLed mid-job and run again (lines added to its input in between): it takes
 * the results the agents left in Redis, skips what its journal has, and finishes with each id
 * exactly once; lines added to its input after the last then run alone.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { startCli, tempDir, writeJsonl } from '../helpers/cli.js';
import { killAtEnd } from '../helpers/processes.js';
import { clusterConfig, duplicatesAndMissing, FIXTURES, SHARED_REDIS, startAgent, uniquePrefix, waitForLines } from './cluster-helpers.js';

const pids = killAtEnd();

for (const journal of ['sqlite', 'redis'] as const) {
  test(`submitter killed mid-job and run again resumes without duplicates; lines added then run alone (journal: ${journal})`, { timeout: 120_000 }, async (t) => {
    const dir = tempDir();
    const prefix = uniquePrefix(t);
    // Items past the first 10,000 wait for the gate, opened only after the kill: however fast
    // the machine, the first submitter cannot finish before it is killed.
    const config = clusterConfig(dir, { worker: path.join(FIXTURES, 'gate_worker.py'), workers: 1 });
    const count = 30_000;
    const gate = path.join(dir, 'gate');
    const input = writeJsonl(path.join(dir, 'in.jsonl'), count, (i) => (i < 10_000 ? { n: i } : { n: i, gate }));
    const out = path.join(dir, 'out.jsonl');
    const agents = await Promise.all(['b1', 'b2'].map((name) => startAgent(config, SHARED_REDIS, prefix, name)));
    for (const a of agents) pids.push(a.child.pid!);
    const args = ['submit', '-c', config, '--redis', SHARED_REDIS, '--prefix', prefix, '-i', input, '-o', out, '--chunk-size', '400', '--journal', journal, '--progress', 'none', '--json'];

    const first = startCli(args);
    pids.push(first.child.pid!);
    await waitForLines(out, 6_000);
    // The job's queues keep BullMQ's event stream short (chunk-queue.ts, EVENTS_MAX_LEN).
    const redis = new Redis(SHARED_REDIS);
    t.after(() => redis.disconnect());
    const metas = await redis.keys(`${prefix}:chunks-*:meta`);
    assert.equal(metas.length, 2, `the job's queue and its suspects' queue: ${metas.join(', ')}`);
    for (const meta of metas) assert.equal(await redis.hget(meta, 'opts.maxLenEvents'), '100', meta);
    first.child.kill('SIGKILL');
    const killed = await first.done;
    assert.equal(killed.signal, 'SIGKILL');
    fs.writeFileSync(gate, '');
    // Lines added while no run holds the job: the digest the killed run kept before its commits
    // (of what it had read, perhaps not all of the file) says that it only grew.
    const added = (from: number) => fs.appendFileSync(input, Array.from({ length: 100 }, (_, i) => JSON.stringify({ n: from + i }) + '\n').join(''));
    added(count);
    const total = count + 100;

    const second = await startCli(args).done;
    assert.equal(second.code, 0, second.stderr);
    // Its journal took results under the job's generation: what the agents left in Redis is used, not deleted.
    assert.doesNotMatch(second.stderr, /are deleted, and their items run again/);
    const summary = JSON.parse(second.stdout) as { done: number; resumed: number; outcome: string };
    assert.equal(summary.outcome, 'complete');
    // Lines written after the first run's last commit are cut from the output and done again.
    assert.ok(summary.resumed > 0 && summary.resumed < count, `resumed ${summary.resumed} items journaled by the first run`);
    assert.equal(summary.resumed + summary.done, total, 'every item counted once across the two runs');
    const { duplicates, missing } = duplicatesAndMissing(out, total);
    assert.deepEqual(duplicates, []);
    assert.deepEqual(missing, []);

    // Once more: nothing left to do, and the output stays as it is.
    const third = await startCli(args).done;
    assert.equal(third.code, 0, third.stderr);
    assert.deepEqual(JSON.parse(third.stdout).resumed, total);
    assert.equal(duplicatesAndMissing(out, total).duplicates.length, 0);

    // Lines added after the last of a finished job: only they go out, and the output holds every id once.
    added(total);
    const fourth = await startCli(args).done;
    assert.equal(fourth.code, 0, fourth.stderr);
    const grown = JSON.parse(fourth.stdout) as { done: number; resumed: number };
    assert.deepEqual([grown.resumed, grown.done], [total, 100]);
    assert.deepEqual(duplicatesAndMissing(out, total + 100), { duplicates: [], missing: [] });
    for (const a of agents) a.child.kill('SIGINT');
    for (const a of agents) await a.done;
  });
}
